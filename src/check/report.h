// Reports of `reglet check` (SPEC §5): `--format table|json|yaml|junit|sarif`.
//
// render_report() turns a RunResult into the text of one report. It never throws; should
// rendering fail anyway (memory exhaustion), it returns a short document in the same format that
// says so. All formats are deterministic: the same RunResult gives the same bytes.
//
// Text in every format is valid UTF-8: invalid byte sequences in names, messages and evidence
// are replaced with U+FFFD. Durations are whole milliseconds in JSON/YAML/SARIF properties and
// seconds (3 decimals) in JUnit. The summary counts are always computed from the controls listed
// (summarize(run.controls)), so they cannot disagree with them.
//
// ---------------------------------------------------------------------------------------------
// table  (the default on a terminal)
//   An optional header line (profile name and version), then one line per control in profile
//   order:
//       ✓ critical  ssh-config-exists  SSH configuration file exists
//       ✗ high      ssh-root-login     Root login is disabled
//           failed: data.content contains "PermitRootLogin no"
//             data.content = "Port 22\nPermitRootLogin yes\n"
//       ! medium    ntp-synced         Clock is synchronised
//           error: timeout: plugin call exceeded 30s
//       - low       ssh-ciphers        Only strong ciphers
//           skipped: dependency ssh-config-exists did not pass
//
//       4 controls: 1 passed, 1 failed, 1 error, 1 skipped (1.23 s)
//   Marks: ✓ pass, ✗ fail, ! error, - skipped; with ReportOptions::color they are green, red,
//   yellow and grey (ANSI SGR), and the header is bold; without it the output has no escape
//   sequences at all. Column widths come from the content (severity, id; ids wider than 40
//   columns overflow their column); names are cut with "…" so that a line fits 80 columns.
//   Under a failed control: each expectation that was false ("failed: EXPR") or could not be
//   evaluated ("error in EXPR: MESSAGE"), followed by the evidence values the expression refers
//   to (`data.x`, bare names of data members, `status`, `error`, `timestamp`) as compact JSON, or
//   "not in the evidence" for a name the evidence lacks; an observation without expectations
//   whose plugin said status false shows the plugin's data. Under an errored control: the error
//   code and message of each observation that errored. When a control has several observations
//   each detail line starts with the plugin name. A skipped control says why (its message).
//   When the observations give nothing to show, the control's message is shown instead.
//   ReportOptions::verbose shows every control's observations, each under a heading
//   ("file: pass (11 ms)"), with every expectation ("passed: EXPR" too) and its values, and
//   does not truncate evidence values. Control characters in names and messages are shown as
//   U+FFFD (tab and line breaks as a space), so a report can never send escape sequences of its
//   own to a terminal. Long messages wrap at 80 columns.
//
// ---------------------------------------------------------------------------------------------
// json
//   One object, keys in this order, pretty-printed with 2 spaces, non-ASCII text as UTF-8:
//   {
//     "profile": {"name", "version", "description", "path" (null when unknown)},
//     "reglet_version": "0.1.0",
//     "started": RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.000Z"),
//     "duration_ms": integer,
//     "summary": {"total", "passed", "failed", "error", "skipped"},
//     "controls": [{
//       "id", "name", "description", "severity" (low|medium|high|critical), "owner",
//       "tags": [...], "status" (pass|fail|error|skipped), "message", "duration_ms",
//       "observations": [{
//         "plugin", "config" (as given to the plugin), "status",
//         "evidence": Evidence::to_json() — {"status", "data", "timestamp"[, "error"]} — or
//                     null; evidence data nested deeper than 100 levels is cut off there
//                     ("(nested too deeply)"), and NaN/infinity become null,
//         "error": {"code", "message"} or null,
//         "expectations": [{"expression", "passed"[, "error"]}],   "error" only when evaluation
//                                                                  failed
//         "duration_ms"
//       }]
//     }]
//   }
//
// yaml
//   The same document as the json format, block style, written with yaml-cpp. Strings are
//   quoted whenever a YAML 1.1 or 1.2 reader could take them for anything but a string ("true",
//   "no", "0600", "1e3", "~", ".inf", "") or when they hold characters that are not plainly
//   printable; numbers, booleans and null are plain scalars. Parsing the output with any YAML
//   reader gives back the json document.
//
// ---------------------------------------------------------------------------------------------
// junit  (Jenkins, GitLab, GitHub test reporters)
//   <?xml version="1.0" encoding="UTF-8"?>
//   <testsuites name="reglet" tests failures errors skipped time>
//     <testsuite name=PROFILE tests failures errors skipped time timestamp (UTC, no zone)>
//       <properties> profile.version, profile.path (when known), reglet.version </properties>
//       <testcase classname="reglet.PROFILE" name="ID: NAME" time=SECONDS>   one per control
//         <properties> severity, owner (when set), tags (comma separated, when any)
//         </properties>
//         fail:    <failure message=MESSAGE type="expectation_failed">, the text lists each
//                  failed expectation by observation with its evidence as JSON
//         error:   <error message=MESSAGE type=ERROR_CODE>, the text lists each error with its
//                  evidence; the type is the first error's code (e.g. "timeout"), or
//                  "expression_error" for an expectation that could not be evaluated
//         skipped: <skipped message=REASON/>
//   MESSAGE is the control's message, or else the first failure/error. Text is escaped for XML
//   1.0 (& < > " ' and, in attributes, tab/CR/LF as character references); characters XML 1.0
//   forbids (most C0 controls, U+FFFE, U+FFFF) become U+FFFD. Testcase <properties> is the
//   extension pytest and the Jenkins JUnit plugin use.
//
// ---------------------------------------------------------------------------------------------
// sarif  (SARIF 2.1.0: GitHub code scanning, Azure DevOps, IDE viewers)
//   {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0",
//    "runs": [{
//      "tool": {"driver": {"name": "reglet", "version", "informationUri", "rules": [one per
//               control: {"id", "name", "shortDescription": {"text": name},
//               "fullDescription": {"text": description, or name when empty},
//               "defaultConfiguration": {"level": critical/high "error", medium/low "warning"},
//               "properties": {"severity", "tags", "security-severity"}}]}},
//      "invocations": [{"executionSuccessful": no control errored, "startTimeUtc",
//                       "endTimeUtc"[, "toolExecutionNotifications": one per errored control]}],
//      "results": [one per control: {"ruleId", "ruleIndex", "kind", "level",
//                  "message": {"text"}, "locations": [the profile file] (when its path is
//                  known), "properties": {"status", "severity", "duration_ms",
//                  "observations": as in the json format}}],
//      "properties": {"profile": {...}, "summary": {...}}}]}
//   kind/level: fail and error are kind "fail" with level "error" for critical and high
//   controls and "warning" for medium and low; pass is kind "pass" and skipped is kind
//   "notApplicable", both with level "none" — SARIF §3.27.10 requires level "none" whenever
//   kind is not "fail" (validators reject "note" there). properties.status tells fail from
//   error. "security-severity" (critical 9.5, high 8.0, medium 5.5, low 2.0) is what GitHub
//   uses to rank alerts. A relative profile path is given as a relative URI reference (relative
//   to the directory reglet ran in, normally the repository root); an absolute one as a file://
//   URI. Both are percent-encoded.
// ---------------------------------------------------------------------------------------------
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "check/model.h"

namespace reglet::check {

enum class ReportFormat { table, json, yaml, junit, sarif };

// "table", "json", "yaml", "junit", "sarif" (exactly; lower case). nullopt for anything else.
std::optional<ReportFormat> report_format_from_string(std::string_view text);
std::string_view to_string(ReportFormat format);

struct ReportOptions {
  bool color = false;    // table: ANSI colours
  bool verbose = false;  // table: also show passing controls' details, untruncated values
};

// The whole report, ending with a newline. Never throws.
std::string render_report(const RunResult& run, ReportFormat format,
                          const ReportOptions& options = {});

// The informationUri of the SARIF tool driver.
inline constexpr std::string_view kReportInformationUri = "https://github.com/reglet-dev/reglet";

}  // namespace reglet::check
