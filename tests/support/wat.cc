#include "support/wat.h"

#include <wabt/binary-writer.h>
#include <wabt/error-formatter.h>
#include <wabt/ir.h>
#include <wabt/resolve-names.h>
#include <wabt/stream.h>
#include <wabt/wast-lexer.h>
#include <wabt/wast-parser.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace reglet::test {

std::vector<uint8_t> wat_to_wasm(std::string_view wat) {
  wabt::Errors errors;
  auto lexer = wabt::WastLexer::CreateBufferLexer("test.wat", wat.data(), wat.size(), &errors);
  wabt::Features features;
  features.EnableAll();
  wabt::WastParseOptions options(features);
  std::unique_ptr<wabt::Module> module;
  wabt::Result result = wabt::ParseWatModule(lexer.get(), &module, &errors, &options);
  if (wabt::Succeeded(result)) result = wabt::ResolveNamesModule(module.get(), &errors);
  if (wabt::Failed(result)) {
    std::fprintf(stderr, "test module does not parse:\n%s\n",
                 wabt::FormatErrorsToString(errors, wabt::Location::Type::Text).c_str());
    std::abort();
  }
  wabt::MemoryStream stream;
  wabt::WriteBinaryOptions write_options(features, true, false, false);
  if (wabt::Failed(wabt::WriteBinaryModule(&stream, module.get(), write_options))) std::abort();
  return std::move(stream.output_buffer().data);
}

}  // namespace reglet::test
