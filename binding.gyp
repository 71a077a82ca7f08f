{
  # Defines, compiler flags, include dirs and the asan=1 variant: native/common.gypi (not a
  # common.gypi at the top: node-gyp would include that one a second time by itself).
  "includes": ["native/common.gypi"],
  "targets": [
    {
      "target_name": "via_shm",
      "sources": [
        "native/addon.cc",
        "native/cq.cc",
        "native/link.cc",
        "native/link_registry.cc",
        "native/rendezvous.cc",
        "native/shm_segment.cc",
        "native/shm_vi.cc"
      ]
    },
    {
      # The same addon with the test hooks (Vi.scribble, native/scribbler.cc): only the fault
      # tests load it (test/helpers/testing-addon.js), never the runtime.
      "target_name": "via_shm_testing",
      "sources": [
        "native/addon.cc",
        "native/cq.cc",
        "native/link.cc",
        "native/link_registry.cc",
        "native/rendezvous.cc",
        "native/scribbler.cc",
        "native/shm_segment.cc",
        "native/shm_vi.cc"
      ],
      "defines": ["VIA_TESTING"]
    }
  ],
  "conditions": [
    # The verbs provider is built only where the rdma-core headers exist (libibverbs-dev,
    # librdmacm-dev), so via_shm builds the same with or without them.
    ["<!(node -p \"['/usr/include/infiniband/verbs.h', '/usr/include/rdma/rdma_cma.h'].every(f => require('fs').existsSync(f)) ? 1 : 0\")==1", {
      "targets": [
        {
          "target_name": "via_verbs",
          "sources": [
            "native/verbs/verbs_addon.cc",
            "native/verbs/memory.cc",
            "native/verbs/wire.cc"
          ],
          "libraries": ["-libverbs", "-lrdmacm"]
        },
        {
          # The same addon with the test-only `testing` object (native/verbs/testing_binding.cc):
          # only test/verbs-wire.test.js loads it (test/helpers/verbs-testing-addon.js).
          "target_name": "via_verbs_testing",
          "sources": [
            "native/verbs/verbs_addon.cc",
            "native/verbs/memory.cc",
            "native/verbs/testing_binding.cc",
            "native/verbs/wire.cc"
          ],
          "defines": ["VIA_TESTING"],
          "libraries": ["-libverbs", "-lrdmacm"]
        }
      ]
    }]
  ]
}
