# Build settings every target of binding.gyp shares (binding.gyp includes this file). A target
# lists only its name, its sources and what is its own (the VIA_TESTING define, libraries).
{
  # Not named `asan`: node-gyp's build/config.gypi carries node's own `asan` (0 unless node
  # itself was built with ASan), and that setting wins over a -Dasan=1 on the command line.
  "variables": { "via_asan%": 0 },
  "target_defaults": {
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
    "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
    "conditions": [
      # `node scripts/build-native.js --asan` (npm run test:asan) passes -Dvia_asan=1.
      ["via_asan==1", {
        "cflags_cc": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"],
        "ldflags": ["-fsanitize=address,undefined"]
      }]
    ]
  }
}
