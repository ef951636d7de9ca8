// reglet-aotc: build-time generator of the C for a built-in plugin's AOT object.
//   reglet-aotc PLUGIN.wasm OUTPUT_DIR NAME
// writes OUTPUT_DIR/{module.c,module.h,glue.c} for linking into the binary (Linkage::builtin),
// and OUTPUT_DIR/prepared.bin, the prepared module itself (PreparedModule::serialize), embedded
// so that the runtime does not prepare the plugin again in every process.
// The module is prepared with the runtime's default options, so the object matches what the
// runtime prepares for the plugin (its hash is checked at load).
#include <fstream>
#include <iostream>
#include <iterator>

#include "engine/aot/aot_engine.h"
#include "engine/aot/codegen.h"
#include "engine/prep/prepare.h"

int main(int argc, char** argv) {
  using namespace reglet::engine;
  if (argc != 4) {
    std::cerr << "usage: reglet-aotc PLUGIN.wasm OUTPUT_DIR NAME\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  auto prepared = PreparedModule::prepare(bytes);
  if (!prepared) {
    std::cerr << "reglet-aotc: " << argv[1] << ": " << prepared.error().to_string() << "\n";
    return 1;
  }
  auto generated = aot::generate_c(*prepared, argv[3], aot::Linkage::builtin, "builtin");
  if (!generated) {
    std::cerr << "reglet-aotc: " << generated.error().to_string() << "\n";
    return 1;
  }
  const std::string dir = argv[2];
  {
    const std::vector<uint8_t> serialized = prepared->serialize(PrepareOptions{});
    std::ofstream out(dir + "/prepared.bin", std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(serialized.data()),
              static_cast<std::streamsize>(serialized.size()));
    if (!out) {
      std::cerr << "reglet-aotc: cannot write " << dir << "/prepared.bin\n";
      return 1;
    }
  }
  for (auto [file, text] : {std::pair{"/module.c", &generated->module_c},
                            std::pair{"/module.h", &generated->module_h},
                            std::pair{"/glue.c", &generated->glue_c}}) {
    std::ofstream out(dir + file, std::ios::binary | std::ios::trunc);
    out << *text;
    if (!out) {
      std::cerr << "reglet-aotc: cannot write " << dir << file << "\n";
      return 1;
    }
  }
  return 0;
}
