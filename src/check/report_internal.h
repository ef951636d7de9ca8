// Shared pieces of the report renderers (report*.cc). Not part of the public API.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "check/model.h"
#include "check/report.h"

namespace reglet::check::report_detail {

using OrderedJson = nlohmann::ordered_json;

// Decodes the code point at `pos` and advances past it. Strict UTF-8: overlong forms, surrogates
// and values above U+10FFFF are invalid. On an invalid sequence returns false and advances by
// one byte (each bad byte then becomes one U+FFFD, as nlohmann::json's "replace" does).
bool next_code_point(std::string_view text, size_t& pos, char32_t& code_point);
void append_utf8(std::string& out, char32_t code_point);
inline constexpr char32_t kReplacement = 0xFFFD;

// `text` with invalid UTF-8 replaced by U+FFFD.
std::string sanitize_utf8(std::string_view text);

// A JSON value as an ordered_json: strings (and keys) sanitized, non-finite floats as null, and
// values nested deeper than kMaxValueDepth replaced with the string kTooDeep (copying a JSON
// value recurses, and evidence comes from plugins).
inline constexpr int kMaxValueDepth = 100;
inline constexpr std::string_view kTooDeep = "(nested too deeply)";
OrderedJson to_ordered(const nlohmann::json& value);

// Evidence::to_json() as an ordered_json (same members: status, data, timestamp[, error]).
OrderedJson evidence_json(const Evidence& evidence);
// {"plugin", "config", "status", "evidence", "error", "expectations", "duration_ms"}.
OrderedJson observation_json(const ObservationResult& observation);
OrderedJson observations_json(const ControlResult& control);
// {"name", "version", "description", "path"}.
OrderedJson profile_json(const RunResult& run);
// {"total", "passed", "failed", "error", "skipped"}.
OrderedJson summary_json(const Summary& summary);
// The whole json/yaml document.
OrderedJson report_document(const RunResult& run);

// Pretty (indent >= 0) or compact (indent < 0) JSON; never throws on bad UTF-8.
std::string dump_json(const OrderedJson& value, int indent);

// Milliseconds as seconds with `decimals` decimals (0..3), rounded half up: "1.23".
std::string format_seconds(std::chrono::milliseconds duration, int decimals);

// The profile path as text ("" when unknown).
std::string profile_path_text(const RunResult& run);

// The observation errors and expectation errors/failures of a control, for messages.
// "failed: EXPR" for the first false expectation (or the plugin's verdict), or "" when none.
std::string first_failure(const ControlResult& control);
// "CODE: MESSAGE" of the first observation error, "error in EXPR: MESSAGE" of the first
// expectation that could not be evaluated, or "" when none. `code` receives the error code
// (or "expression_error") when found.
std::string first_error(const ControlResult& control, std::string* code = nullptr);

std::string render_table(const RunResult& run, const ReportOptions& options);
std::string render_json(const RunResult& run);
std::string render_yaml(const RunResult& run);
std::string render_junit(const RunResult& run);
std::string render_sarif(const RunResult& run);

}  // namespace reglet::check::report_detail
