// reglet compile PLUGIN.wasm -o FILE: makes the AOT object of a plugin ahead of time, for
// machines without a C compiler (`--aot-object FILE`) or to fill the cache (no -o).
#include <algorithm>
#include <iostream>

#include "check/plugin_source.h"
#include "check/units.h"
#include "cli/commands.h"
#include "engine/aot/aot_engine.h"
#include "engine/prep/prepare.h"

namespace reglet::cli {
namespace {

class CompileCommand final : public Command {
 public:
  explicit CompileCommand(CLI::App& app) {
    sub_ = app.add_subcommand("compile", "Compile a plugin to native code (AOT tier) ahead of time");
    sub_->add_option("plugin", plugin_, "Path to a .wasm file, or a built-in plugin name")
        ->required();
    sub_->add_option("--output,-o", output_,
                     "Write the object here (default: into the AOT cache, where --engine aot|auto "
                     "finds it)");
    sub_->add_option("--memory-limit", memory_limit_,
                     "The memory cap the object is made for (must match the one it runs with; "
                     "default 256MiB)");
    sub_->add_option("--aot-cache", cache_, "The AOT cache directory");
    sub_->footer(
        "Loading an object checks that it was made from the same module bytes by a compatible "
        "build of reglet.\nExample: reglet compile checks/ssh.wasm -o ssh.so && reglet check "
        "profile.yaml --engine aot --aot-object ssh.so");
  }

  bool selected() const override { return sub_->parsed(); }

  int run() override {
    auto source = check::resolve_plugin_source(plugin_);
    if (!source) return usage_error(source.error().message);
    engine::PrepareOptions prepare;
    if (!memory_limit_.empty()) {
      auto size = check::parse_size(memory_limit_);
      if (!size) return usage_error(size.error().message);
      prepare.max_memory_pages = static_cast<uint32_t>(
          std::clamp<uint64_t>((*size + engine::kWasmPageSize - 1) / engine::kWasmPageSize, 1,
                               65536));
    }
    auto prepared = engine::PreparedModule::prepare(source->bytes(), prepare);
    if (!prepared) return print_error(prepared.error());
    engine::aot::AotOptions options;
    options.cache_dir = cache_;
    if (output_.empty()) {
      if (engine::aot::has_object(*prepared, options)) {
        std::cout << "already compiled\n";
        return kExitPassed;
      }
      Status status = engine::aot::compile_to_file(
          *prepared, engine::aot::cached_object_path(*prepared, options), options);
      if (!status) return print_error(status.error());
      std::cout << engine::aot::cached_object_path(*prepared, options).string() << "\n";
      return kExitPassed;
    }
    Status status = engine::aot::compile_to_file(*prepared, output_, options);
    if (!status) return print_error(status.error());
    std::cout << output_ << "\n";
    return kExitPassed;
  }

 private:
  CLI::App* sub_;
  std::string plugin_, output_, memory_limit_, cache_;
};

}  // namespace

std::unique_ptr<Command> make_compile_command(CLI::App& app) {
  return std::make_unique<CompileCommand>(app);
}

}  // namespace reglet::cli
