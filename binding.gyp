{
  "variables": { "asan%": 0 },
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
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "conditions": [
        ["asan==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
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
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "VIA_TESTING"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "conditions": [
        ["asan==1", {
          "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"],
          "ldflags": ["-fsanitize=address,undefined"]
        }]
      ]
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
            "native/verbs/testing_binding.cc",
            "native/verbs/wire.cc"
          ],
          "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
          "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
          "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
          "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
          "libraries": ["-libverbs", "-lrdmacm"],
          "conditions": [
            ["asan==1", {
              "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"],
              "ldflags": ["-fsanitize=address,undefined"]
            }]
          ]
        }
      ]
    }]
  ]
}
