// The hand-written glob matcher behind fs and exec grants (and, without classes, env and host
// grants).
#include "runtime/capability/glob.h"

#include <gtest/gtest.h>

#include <string>

namespace reglet::capability_detail {
namespace {

PathGlob path_glob(const std::string& pattern) {
  auto glob = PathGlob::compile(pattern);
  EXPECT_TRUE(glob.ok()) << pattern << ": " << (glob.ok() ? "" : glob.error().message);
  return glob.ok() ? std::move(*glob) : PathGlob{};
}

bool path_matches(const std::string& pattern, const std::string& path) {
  return path_glob(pattern).matches(path);
}

bool name_matches(const std::string& pattern, const std::string& text,
                  TokenPattern::Syntax syntax = {}) {
  auto compiled = TokenPattern::compile(pattern, syntax);
  EXPECT_TRUE(compiled.ok()) << pattern;
  return compiled.ok() && compiled->matches(text);
}

std::string compile_error(const std::string& pattern) {
  auto glob = PathGlob::compile(pattern);
  EXPECT_FALSE(glob.ok()) << pattern << " should not compile";
  if (glob.ok()) return {};
  EXPECT_EQ(glob.error().code, ErrorCode::invalid_argument);
  return glob.error().message;
}

TEST(PathGlob, LiteralPatternMatchesOnlyItself) {
  EXPECT_TRUE(path_matches("/etc/passwd", "/etc/passwd"));
  EXPECT_FALSE(path_matches("/etc/passwd", "/etc/passwd2"));
  EXPECT_FALSE(path_matches("/etc/passwd", "/etc/passw"));
  EXPECT_FALSE(path_matches("/etc/passwd", "/etc/passwd/x"));
  EXPECT_FALSE(path_matches("/etc/passwd", "/etc"));
  EXPECT_FALSE(path_matches("/etc/passwd", "/ETC/passwd"));
}

TEST(PathGlob, RootPatterns) {
  EXPECT_TRUE(path_matches("/", "/"));
  EXPECT_FALSE(path_matches("/", "/etc"));
  EXPECT_TRUE(path_matches("/**", "/"));
  EXPECT_TRUE(path_matches("/**", "/etc"));
  EXPECT_TRUE(path_matches("/**", "/a/b/c/d"));
  EXPECT_TRUE(path_matches("/*", "/etc"));
  EXPECT_FALSE(path_matches("/*", "/etc/passwd"));
}

TEST(PathGlob, StarStaysInsideOneSegment) {
  EXPECT_TRUE(path_matches("/etc/*.conf", "/etc/a.conf"));
  EXPECT_TRUE(path_matches("/etc/*.conf", "/etc/.conf"));         // '*' may be empty
  EXPECT_TRUE(path_matches("/etc/*.conf", "/etc/.hidden.conf"));  // no special leading dot
  EXPECT_FALSE(path_matches("/etc/*.conf", "/etc/sub/a.conf"));
  EXPECT_FALSE(path_matches("/etc/*.conf", "/etc/a.conf.bak"));
  EXPECT_TRUE(path_matches("/etc/*", "/etc/passwd"));
  EXPECT_FALSE(path_matches("/etc/*", "/etc"));
  EXPECT_FALSE(path_matches("/etc/*", "/etc/ssh/sshd_config"));
  EXPECT_TRUE(path_matches("/home/*/.ssh/*", "/home/alice/.ssh/id_rsa"));
  EXPECT_FALSE(path_matches("/home/*/.ssh/*", "/home/alice/x/.ssh/id_rsa"));
  EXPECT_TRUE(path_matches("/a*b*c", "/abc"));
  EXPECT_TRUE(path_matches("/a*b*c", "/axxbyyc"));
  EXPECT_FALSE(path_matches("/a*b*c", "/axxbyy/c"));
  EXPECT_TRUE(path_matches("/*x", "/abxabx"));  // needs backtracking past the first 'x'
}

TEST(PathGlob, QuestionMarkIsOneCharacterNeverSlash) {
  EXPECT_TRUE(path_matches("/tmp/?", "/tmp/a"));
  EXPECT_FALSE(path_matches("/tmp/?", "/tmp/ab"));
  EXPECT_FALSE(path_matches("/tmp/?", "/tmp"));
  EXPECT_FALSE(path_matches("/tmp?x", "/tmp/x"));
  EXPECT_TRUE(path_matches("/log.?", "/log.1"));
  // One character is one UTF-8 sequence, not one byte.
  EXPECT_TRUE(path_matches("/caf?", "/caf\xc3\xa9"));
  EXPECT_FALSE(path_matches("/caf??", "/caf\xc3\xa9"));
  EXPECT_TRUE(path_matches("/?", "/\xe2\x82\xac"));      // the euro sign, three bytes
  EXPECT_TRUE(path_matches("/?", "/\xf0\x9f\x98\x80"));  // four bytes
  EXPECT_TRUE(path_matches("/??", "/\xff\xfe"));         // stray bytes count one each
}

TEST(PathGlob, GlobstarSpansZeroOrMoreSegments) {
  EXPECT_TRUE(path_matches("/etc/**", "/etc"));
  EXPECT_TRUE(path_matches("/etc/**", "/etc/"));
  EXPECT_TRUE(path_matches("/etc/**", "/etc/passwd"));
  EXPECT_TRUE(path_matches("/etc/**", "/etc/a/b/c"));
  EXPECT_FALSE(path_matches("/etc/**", "/etcx"));
  EXPECT_FALSE(path_matches("/etc/**", "/etcx/passwd"));
  EXPECT_FALSE(path_matches("/etc/**", "/et"));
  EXPECT_FALSE(path_matches("/etc/**", "/"));

  EXPECT_TRUE(path_matches("/a/**/b", "/a/b"));
  EXPECT_TRUE(path_matches("/a/**/b", "/a/x/b"));
  EXPECT_TRUE(path_matches("/a/**/b", "/a/x/y/z/b"));
  EXPECT_FALSE(path_matches("/a/**/b", "/a/x/c"));
  EXPECT_FALSE(path_matches("/a/**/b", "/a/b/c"));
  EXPECT_TRUE(path_matches("/a/**/**/b", "/a/b"));
  EXPECT_TRUE(path_matches("/a/**/**/b", "/a/1/2/b"));

  EXPECT_TRUE(path_matches("/**/*.log", "/x.log"));
  EXPECT_TRUE(path_matches("/**/*.log", "/var/log/app/x.log"));
  EXPECT_FALSE(path_matches("/**/*.log", "/var/log/x.txt"));
  EXPECT_TRUE(path_matches("/var/**/log/*", "/var/log/syslog"));
  EXPECT_TRUE(path_matches("/var/**/log/*", "/var/a/log/syslog"));
  EXPECT_FALSE(path_matches("/var/**/log/*", "/var/a/log"));
}

TEST(PathGlob, DoubleStarInsideASegmentIsAnOrdinaryStar) {
  EXPECT_TRUE(path_matches("/var/**.log", "/var/a.log"));
  EXPECT_FALSE(path_matches("/var/**.log", "/var/a/b.log"));
  EXPECT_TRUE(path_matches("/var/a**", "/var/abc"));
  EXPECT_FALSE(path_matches("/var/a**", "/var/a/bc"));
}

TEST(PathGlob, CharacterClasses) {
  EXPECT_TRUE(path_matches("/dev/tty[0-9]", "/dev/tty5"));
  EXPECT_FALSE(path_matches("/dev/tty[0-9]", "/dev/ttyS"));
  EXPECT_FALSE(path_matches("/dev/tty[0-9]", "/dev/tty10"));
  EXPECT_TRUE(path_matches("/x/[abc]", "/x/b"));
  EXPECT_FALSE(path_matches("/x/[abc]", "/x/d"));
  EXPECT_TRUE(path_matches("/x/[a-cx-z]", "/x/y"));
  EXPECT_FALSE(path_matches("/x/[a-cx-z]", "/x/m"));
  EXPECT_TRUE(path_matches("/x/[!a]", "/x/b"));
  EXPECT_FALSE(path_matches("/x/[!a]", "/x/a"));
  EXPECT_TRUE(path_matches("/x/[^a]", "/x/b"));
  EXPECT_FALSE(path_matches("/x/[^a]", "/x/a"));
  EXPECT_FALSE(path_matches("/x/[!a]", "/x/"));   // a class needs a character
  EXPECT_FALSE(path_matches("/a[!x]b", "/a/b"));  // and never matches '/'
  EXPECT_TRUE(path_matches("/x/[]a]", "/x/]"));   // ']' first is literal
  EXPECT_TRUE(path_matches("/x/[]a]", "/x/a"));
  EXPECT_TRUE(path_matches("/x/[!]]", "/x/a"));
  EXPECT_FALSE(path_matches("/x/[!]]", "/x/]"));
  EXPECT_TRUE(path_matches("/x/[a-]", "/x/-"));  // '-' last is literal
  EXPECT_TRUE(path_matches("/x/[-a]", "/x/-"));  // '-' first is literal
  EXPECT_FALSE(path_matches("/x/[a-]", "/x/b"));
  EXPECT_TRUE(path_matches("/x/[*?]", "/x/*"));  // wildcards are literal inside a class
  EXPECT_FALSE(path_matches("/x/[*?]", "/x/a"));
  EXPECT_TRUE(path_matches("/x/[\\]]", "/x/]"));                       // escaped ']'
  EXPECT_TRUE(path_matches("/x/[\xc3\xa0-\xc3\xbf]", "/x/\xc3\xa9"));  // a UTF-8 range
  EXPECT_FALSE(path_matches("/x/[\xc3\xa0-\xc3\xbf]", "/x/e"));
  EXPECT_TRUE(path_matches("/home/[a-z]*/.ssh", "/home/bob/.ssh"));
  EXPECT_FALSE(path_matches("/home/[a-z]*/.ssh", "/home/Bob/.ssh"));
}

TEST(PathGlob, EscapesMakeWildcardsLiteral) {
  EXPECT_TRUE(path_matches("/a\\*b", "/a*b"));
  EXPECT_FALSE(path_matches("/a\\*b", "/axb"));
  EXPECT_TRUE(path_matches("/a\\?", "/a?"));
  EXPECT_FALSE(path_matches("/a\\?", "/ab"));
  EXPECT_TRUE(path_matches("/a\\[b]", "/a[b]"));
  EXPECT_FALSE(path_matches("/a\\[b]", "/ab"));
  EXPECT_TRUE(path_matches("/a\\\\b", "/a\\b"));
  EXPECT_TRUE(path_matches("/\\*\\*/x", "/**/x"));  // an escaped "**" is not a globstar
  EXPECT_FALSE(path_matches("/\\*\\*/x", "/a/x"));
}

TEST(PathGlob, EmptySegmentsAreIgnored) {
  EXPECT_TRUE(path_matches("/etc//passwd", "/etc/passwd"));
  EXPECT_TRUE(path_matches("/etc/passwd", "//etc///passwd/"));
  EXPECT_TRUE(path_matches("/etc/ssh/", "/etc/ssh"));
}

TEST(PathGlob, UncanonicalPathsFailClosed) {
  EXPECT_FALSE(path_matches("/data/*/secret", "/data/../secret"));
  EXPECT_FALSE(path_matches("/data/**", "/data/../etc/shadow"));
  EXPECT_FALSE(path_matches("/data/**", "/data/./x"));
  EXPECT_FALSE(path_matches("/**", "relative/path"));
  EXPECT_FALSE(path_matches("/**", ""));
}

TEST(PathGlob, PathologicalPatternsStayFast) {
  const std::string long_name(4000, 'a');
  EXPECT_FALSE(path_matches("/*a*a*a*a*a*a*a*a*a*b", "/" + long_name));
  EXPECT_TRUE(path_matches("/*a*a*a*a*a*a*a*a*a*a", "/" + long_name));
  std::string deep;
  for (int i = 0; i < 1500; ++i) deep += "/d";
  EXPECT_FALSE(path_matches("/**/d/**/d/**/d/**/x", deep));
  EXPECT_TRUE(path_matches("/**/d/**/d/**/d/**", deep));
}

TEST(PathGlob, CompileErrorsExplainTheProblem) {
  EXPECT_NE(compile_error("etc/**").find("must be absolute"), std::string::npos);
  EXPECT_NE(compile_error("").find("must be absolute"), std::string::npos);
  EXPECT_NE(compile_error("/etc/[abc").find("unterminated character class"), std::string::npos);
  EXPECT_NE(compile_error("/etc/[]").find("unterminated character class"), std::string::npos);
  EXPECT_NE(compile_error("/etc/[!]").find("unterminated character class"), std::string::npos);
  EXPECT_NE(compile_error("/a/[z-a]").find("range 'z-a' is reversed"), std::string::npos);
  EXPECT_NE(compile_error("/a\\").find("unfinished escape"), std::string::npos);
  EXPECT_NE(compile_error("/a/../b").find("'.' or '..'"), std::string::npos);
}

TEST(PathGlobSplit, FindsTheLiteralPrefix) {
  auto parts = split_path_glob("/usr/lib/**/lib*.so");
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->segments, (std::vector<std::string>{"usr", "lib", "**", "lib*.so"}));
  EXPECT_EQ(parts->first_wildcard, 2u);
  EXPECT_EQ(parts->literal_prefix, (std::vector<std::string>{"usr", "lib"}));

  auto literal = split_path_glob("/etc//ssh/sshd_config/");
  ASSERT_TRUE(literal.ok());
  EXPECT_EQ(literal->first_wildcard, 3u);
  EXPECT_EQ(literal->literal_prefix, (std::vector<std::string>{"etc", "ssh", "sshd_config"}));

  auto escaped = split_path_glob("/odd\\*dir/x?");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->first_wildcard, 1u);
  EXPECT_EQ(escaped->literal_prefix, (std::vector<std::string>{"odd*dir"}));

  auto wildcard_first = split_path_glob("/*/x");
  ASSERT_TRUE(wildcard_first.ok());
  EXPECT_EQ(wildcard_first->first_wildcard, 0u);
  EXPECT_TRUE(wildcard_first->literal_prefix.empty());

  auto root = split_path_glob("/");
  ASSERT_TRUE(root.ok());
  EXPECT_TRUE(root->segments.empty());
  EXPECT_EQ(root->first_wildcard, 0u);

  // "." and ".." before the first wildcard are resolved later; after it they are mistakes.
  EXPECT_TRUE(split_path_glob("/usr/../etc/**").ok());
  auto after = split_path_glob("/etc/*/../shadow");
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().message.find("cannot follow a wildcard"), std::string::npos);
  EXPECT_FALSE(split_path_glob("/etc/**/.").ok());
  EXPECT_FALSE(split_path_glob("/etc/*/\\.\\.").ok());
}

TEST(PathGlobSplit, JoinAndEscapeRoundTrip) {
  const std::string awkward = "/we[ir]d/dir*with?glob\\chars";
  const std::string pattern = join_path_glob(awkward, {"**"});
  EXPECT_EQ(pattern, "/we\\[ir\\]d/dir\\*with\\?glob\\\\chars/**");
  auto glob = PathGlob::compile(pattern);
  ASSERT_TRUE(glob.ok());
  EXPECT_TRUE(glob->matches(awkward + "/file"));
  EXPECT_TRUE(glob->matches(awkward));
  EXPECT_FALSE(glob->matches("/weid/dirXwithYglob\\chars/file"));
  EXPECT_EQ(join_path_glob("/", {"*"}), "/*");
  EXPECT_EQ(join_path_glob("/", {}), "/");
  EXPECT_EQ(join_path_glob("/usr/lib", {}), "/usr/lib");
}

TEST(TokenPattern, NameGlobsForEnvironmentVariables) {
  const TokenPattern::Syntax env{.classes_and_escapes = false, .case_insensitive = false};
  EXPECT_TRUE(name_matches("HOME", "HOME", env));
  EXPECT_FALSE(name_matches("HOME", "home", env));
  EXPECT_FALSE(name_matches("HOME", "HOME2", env));
  EXPECT_TRUE(name_matches("AWS_*", "AWS_REGION", env));
  EXPECT_TRUE(name_matches("AWS_*", "AWS_", env));
  EXPECT_FALSE(name_matches("AWS_*", "XAWS_REGION", env));
  EXPECT_TRUE(name_matches("*", "", env));
  EXPECT_TRUE(name_matches("A?C", "ABC", env));
  EXPECT_FALSE(name_matches("A?C", "AC", env));
  EXPECT_FALSE(name_matches("A?C", "ABBC", env));
  // Without classes, '[' is an ordinary character.
  EXPECT_TRUE(name_matches("X[1]", "X[1]", env));
  EXPECT_FALSE(name_matches("X[1]", "X1", env));
}

TEST(TokenPattern, HostGlobsAreCaseInsensitiveAndStarSpansDots) {
  const TokenPattern::Syntax host{.classes_and_escapes = false, .case_insensitive = true};
  EXPECT_TRUE(name_matches("*.example.com", "api.example.com", host));
  EXPECT_TRUE(name_matches("*.example.com", "a.b.example.com", host));
  EXPECT_TRUE(name_matches("*.Example.COM", "API.example.com", host));
  EXPECT_FALSE(name_matches("*.example.com", "example.com", host));
  EXPECT_FALSE(name_matches("*.example.com", "evil-example.com", host));
  EXPECT_FALSE(name_matches("*.example.com", "api.example.com.evil.net", host));
  EXPECT_TRUE(name_matches("api-?.example.com", "api-1.example.com", host));
}

TEST(TokenPattern, ReportsWhetherItIsLiteral) {
  auto literal = TokenPattern::compile("a\\*b", TokenPattern::Syntax{});
  ASSERT_TRUE(literal.ok());
  EXPECT_TRUE(literal->is_literal());
  EXPECT_EQ(literal->literal_text(), "a*b");
  auto wild = TokenPattern::compile("a[bc]", TokenPattern::Syntax{});
  ASSERT_TRUE(wild.ok());
  EXPECT_FALSE(wild->is_literal());
}

}  // namespace
}  // namespace reglet::capability_detail
