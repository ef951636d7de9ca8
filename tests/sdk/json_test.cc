// The guest SDK's lean JSON (sdk/include/reglet/json.h), natively: nlohmann-json is the reference
// for what is valid and what a value is.
#include <gtest/gtest.h>
#include <reglet/json.h>

#include <random>
#include <string>
#include <vector>

namespace reglet::sdk {
namespace {

Json reference(std::string_view text) {
  return Json::parse(text, nullptr, false);
}

const std::vector<std::string>& valid_corpus() {
  static const std::vector<std::string> corpus = {
      "{}",
      "[]",
      "null",
      "true",
      "false",
      "0",
      "-0",
      "7",
      "-7",
      "9223372036854775807",
      "-9223372036854775808",
      "18446744073709551615",
      "18446744073709551616",
      "-9223372036854775809",
      "1.5",
      "-1.25e-3",
      "1E10",
      "1e+2",
      "0.1",
      "123456789012345678901234567890",
      "\"\"",
      "\"plain text that is longer than eight bytes\"",
      R"("quote \" backslash \\ slash \/ \b\f\n\r\t")",
      R"("\u0041\u00e9\u20ac\ud83d\ude00")",
      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
      R"({"a":1,"b":[true,false,null],"c":{"d":"e","f":[{"g":[]}]}})",
      " \n\t\r{ \"spaced\" : [ 1 , 2 ] } \n",
      R"({"dup":1,"dup":2})",
      R"({"esc\u0061ped":"key"})",
      R"([1,-2,3.5,"x",{"y":null}])",
      R"({"exists":true,"path":"/tmp/f","type":"file","size":512,"mode":"0644","mode_int":420})",
  };
  return corpus;
}

const std::vector<std::string>& invalid_corpus() {
  static const std::vector<std::string> corpus = {
      "",
      " ",
      "{",
      "}",
      "[1,]",
      "{\"a\":1,}",
      "{\"a\" 1}",
      "{a:1}",
      "{\"a\":}",
      "[1 2]",
      "01",
      "1.",
      ".5",
      "+1",
      "-",
      "1e",
      "1e+",
      "tru",
      "nul",
      "truex",
      "{} {}",
      "\"unterminated",
      "\"bad escape \\x\"",
      "\"short unicode \\u12\"",
      "\"lone high \\ud83d\"",
      "\"lone low \\ude00\"",
      "\"reversed \\ude00\\ud83d\"",
      "\"control \x01 char\"",
      "\"newline \n in string\"",
      "\"invalid utf-8 \xff\"",
      "\"overlong \xc0\xaf\"",
      "\"surrogate in utf-8 \xed\xa0\x80\"",
      "\"truncated \xe2\x82\"",
      "[\"a\"]]",
  };
  return corpus;
}

TEST(SdkJsonParse, AgreesWithNlohmannOnValidDocuments) {
  for (const std::string& text : valid_corpus()) {
    const Json expected = reference(text);
    ASSERT_FALSE(expected.is_discarded()) << text;
    const Json actual = parse_json(text);
    EXPECT_EQ(actual, expected) << text;
    EXPECT_EQ(actual.type(), expected.type()) << text;
  }
}

TEST(SdkJsonParse, RejectsWhatNlohmannRejects) {
  for (const std::string& text : invalid_corpus()) {
    ASSERT_TRUE(reference(text).is_discarded()) << text;
    EXPECT_TRUE(parse_json(text).is_discarded()) << text;
  }
}

TEST(SdkJsonParse, NumbersKeepNlohmannsTypes) {
  EXPECT_TRUE(parse_json("5").is_number_unsigned());
  EXPECT_TRUE(parse_json("-5").is_number_integer());
  EXPECT_FALSE(parse_json("-5").is_number_unsigned());
  EXPECT_TRUE(parse_json("5.0").is_number_float());
  EXPECT_TRUE(parse_json("18446744073709551616").is_number_float());
  EXPECT_EQ(parse_json("-9223372036854775808").get<int64_t>(), INT64_MIN);
}

TEST(SdkJsonParse, NestingIsBoundedInsteadOfExhaustingTheStack) {
  const std::string shallow = std::string(200, '[') + std::string(200, ']');
  EXPECT_FALSE(parse_json(shallow).is_discarded());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_TRUE(parse_json(deep).is_discarded());
  JsonFields fields;
  EXPECT_FALSE(fields.parse("{\"a\":" + deep + "}"));
}

TEST(SdkJsonWrite, PrintsWhatNlohmannDumps) {
  for (const std::string& text : valid_corpus()) {
    const Json value = reference(text);
    EXPECT_EQ(to_json_text(value), value.dump()) << text;
  }
  EXPECT_EQ(to_json_text(Json(0.1)), Json(0.1).dump());
  EXPECT_EQ(to_json_text(Json(1e300)), Json(1e300).dump());
  EXPECT_EQ(to_json_text(Json(2.0)), "2.0");
  EXPECT_EQ(to_json_text(Json(std::numeric_limits<double>::quiet_NaN())), "null");
  EXPECT_EQ(to_json_text(Json(std::numeric_limits<double>::infinity())), "null");
  EXPECT_EQ(to_json_text(Json(INT64_MIN)), "-9223372036854775808");
  EXPECT_EQ(to_json_text(Json(UINT64_MAX)), "18446744073709551615");
}

TEST(SdkJsonWrite, EscapesEveryControlCharacterAsNlohmannDoes) {
  for (int c = 0; c < 0x20; ++c) {
    const std::string text(1, static_cast<char>(c));
    EXPECT_EQ(to_json_text(Json(text)), Json(text).dump()) << c;
  }
  EXPECT_EQ(to_json_text(Json("\x7f")), Json("\x7f").dump());
}

TEST(SdkJsonWrite, ReplacesInvalidUtf8AsNlohmannsReplaceHandlerDoes) {
  for (const std::string text :
       {"\xff", "ok \xc0\xaf ok", "\xed\xa0\x80", "\xe2\x82", "a\xf5\x80\x80\x80z", "\x80"}) {
    JsonBuffer out;
    append_json_string(out, text);
    EXPECT_EQ(std::string(out.view()),
              Json(text).dump(-1, ' ', false, Json::error_handler_t::replace))
        << text;
    EXPECT_FALSE(reference(out.view()).is_discarded());
  }
}

// The eight-bytes-at-a-time scan must find a special character at any offset and length.
TEST(SdkJsonWrite, FindsSpecialCharactersAtEveryOffset) {
  const std::string specials[] = {"\"", "\\", "\n", "\x1f", "\xc3\xa9", "\xff"};
  for (size_t length = 0; length <= 40; ++length) {
    for (size_t at = 0; at <= length; ++at) {
      for (const std::string& special : specials) {
        std::string text(length, 'x');
        text.insert(at, special);
        JsonBuffer out;
        append_json_string(out, text);
        EXPECT_EQ(std::string(out.view()),
                  Json(text).dump(-1, ' ', false, Json::error_handler_t::replace));
        const Json back = parse_json(out.view());
        if (special != "\xff") {
          EXPECT_EQ(back, Json(text));
        }
      }
    }
  }
}

TEST(SdkJsonFields, FindsMembersWithoutBuildingATree) {
  JsonFields fields;
  ASSERT_TRUE(fields.parse(
      R"({"path":"/etc/hostname","size":512,"neg":-3,"big":18446744073709551615,"ok":true,)"
      R"("ratio":0.5,"nested":{"a":[1,2]},"none":null,"text":"tab\there"})"));
  EXPECT_EQ(fields.size(), 9u);
  EXPECT_EQ(fields.string("path"), "/etc/hostname");
  EXPECT_EQ(fields.integer("size"), 512);
  EXPECT_EQ(fields.unsigned_integer("size"), 512u);
  EXPECT_EQ(fields.integer("neg"), -3);
  EXPECT_EQ(fields.unsigned_integer("neg", 9), 9u);  // negative: the fallback
  EXPECT_EQ(fields.unsigned_integer("big"), UINT64_MAX);
  EXPECT_EQ(fields.integer("big", 4), 4);  // out of range: the fallback
  EXPECT_TRUE(fields.boolean("ok"));
  EXPECT_DOUBLE_EQ(fields.find("ratio").number(), 0.5);
  EXPECT_EQ(fields.find("ratio").integer(), 0);
  EXPECT_TRUE(fields.find("nested").is_object());
  EXPECT_EQ(fields.find("nested").raw(), R"({"a":[1,2]})");
  EXPECT_EQ(fields.find("nested").json(), Json::parse(R"({"a":[1,2]})"));
  EXPECT_TRUE(fields.find("none").is_null());
  EXPECT_EQ(fields.string("text"), "tab\there");
  EXPECT_FALSE(fields.contains("missing"));
  EXPECT_EQ(fields.string("missing", "fallback"), "fallback");
  EXPECT_EQ(fields.string("size", "not a string"), "not a string");
  EXPECT_FALSE(fields.boolean("path", false));
  EXPECT_EQ(fields.key(0), "path");
}

TEST(SdkJsonFields, RepeatedKeysKeepTheLastValueAsNlohmannDoes) {
  JsonFields fields;
  ASSERT_TRUE(fields.parse(R"({"k":1,"other":2,"k":3})"));
  EXPECT_EQ(fields.integer("k"), reference(R"({"k":1,"other":2,"k":3})")["k"].get<int>());
}

TEST(SdkJsonFields, EscapedKeysAreComparedDecoded) {
  JsonFields fields;
  ASSERT_TRUE(fields.parse(R"({"p\u0061th":"x","a\"b":"y"})"));
  EXPECT_EQ(fields.string("path"), "x");
  EXPECT_EQ(fields.string("a\"b"), "y");
  EXPECT_FALSE(fields.contains("p\\u0061th"));
  EXPECT_EQ(fields.key(0), "path");
}

TEST(SdkJsonFields, ManyMembersAndCollidingKeys) {
  // Same length, first and last byte: the same bucket; more than the inline slots too.
  Json object = Json::object();
  for (int i = 0; i < 100; ++i) {
    object["k" + std::to_string(1000 + i) + "z"] = i;
    object["m" + std::to_string(i)] = -i;
  }
  const std::string text = object.dump();
  JsonFields fields;
  ASSERT_TRUE(fields.parse(text));
  EXPECT_EQ(fields.size(), 200u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(fields.integer("k" + std::to_string(1000 + i) + "z", -1), i);
    EXPECT_EQ(fields.integer("m" + std::to_string(i), 1), -i);
  }
  EXPECT_FALSE(fields.contains("k0999z"));

  JsonFields small;
  ASSERT_TRUE(small.parse(R"({"axb":1,"ayb":2,"azb":3,"a":4,"":5})"));
  EXPECT_EQ(small.integer("axb"), 1);
  EXPECT_EQ(small.integer("ayb"), 2);
  EXPECT_EQ(small.integer("azb"), 3);
  EXPECT_EQ(small.integer("a"), 4);
  EXPECT_EQ(small.integer(""), 5);
  EXPECT_FALSE(small.contains("awb"));
}

TEST(SdkJsonFields, AcceptsOnlyOneObject) {
  JsonFields fields;
  EXPECT_FALSE(fields.parse("[]"));
  EXPECT_FALSE(fields.parse("\"text\""));
  EXPECT_FALSE(fields.parse("{} x"));
  EXPECT_FALSE(fields.parse("{\"a\":1"));
  EXPECT_FALSE(fields.parse("{\"a\":\"\\ud800\"}") && fields.string("a") != "");
  EXPECT_EQ(fields.size(), 0u);
  for (const std::string& text : invalid_corpus()) {
    EXPECT_FALSE(fields.parse("{\"k\":" + text + "}")) << text;
  }
  EXPECT_TRUE(fields.parse(" {\"a\" : 1 } "));
}

TEST(SdkJsonWriter, WritesNestedDocuments) {
  JsonWriter writer;
  writer.begin_object()
      .field("s", "text \"quoted\"")
      .field("i", -42)
      .field("u", uint64_t{18446744073709551615ull})
      .field("b", true)
      .field("d", 2.5)
      .field("n", nullptr)
      .field("tree", Json{{"x", 1}})
      .raw_field("raw", R"([1,{"y":2}])");
  writer.key("list").begin_array().value(1).value("two").begin_object().end_object();
  writer.begin_array().end_array().end_array();
  writer.key("empty").begin_object().end_object();
  writer.end_object();
  const Json parsed = reference(writer.view());
  ASSERT_FALSE(parsed.is_discarded()) << writer.view();
  EXPECT_EQ(parsed, Json::parse(R"({"s":"text \"quoted\"","i":-42,"u":18446744073709551615,
      "b":true,"d":2.5,"n":null,"tree":{"x":1},"raw":[1,{"y":2}],
      "list":[1,"two",{},[]],"empty":{}})"));
}

TEST(SdkJsonWriter, LiteralKeysAreEscapedWhenTheyNeedItAndArraysStopAtTheirNul) {
  char buffer[16] = "from_array";  // a char array, not a literal: its NUL ends the key
  const char no_nul[3] = {'a', 'b', 'c'};  // no NUL at all: all of it
  JsonWriter writer;
  writer.begin_object()
      .field("plain", 1)
      .field("quo\"te", 2)
      .field("tab\there", 3)
      .field("", 4)
      .field(buffer, 5)
      .field(no_nul, 6)
      .raw_field("raw\\", "[7]");
  writer.key("k\n").value(8);
  writer.end_object();
  const Json parsed = reference(writer.view());
  ASSERT_FALSE(parsed.is_discarded()) << writer.view();
  EXPECT_EQ(parsed, (Json{{"plain", 1},
                          {"quo\"te", 2},
                          {"tab\there", 3},
                          {"", 4},
                          {"from_array", 5},
                          {"abc", 6},
                          {"raw\\", Json::array({7})},
                          {"k\n", 8}}))
      << writer.view();
}

TEST(SdkJsonFields, LiteralLookupsAgreeWithStringViewLookups) {
  JsonFields fields;
  ASSERT_TRUE(fields.parse(
      R"({"a":1,"abcdefgh":2,"abcdefghijkl":3,"abcdefghijklmnopq":4,"x\"y":5,"":6})"));
  EXPECT_EQ(fields.integer("a"), 1);
  EXPECT_EQ(fields.integer("abcdefgh"), 2);      // one 8-byte step
  EXPECT_EQ(fields.integer("abcdefghijkl"), 3);  // 8 + 4
  EXPECT_EQ(fields.integer("abcdefghijklmnopq"), 4);
  EXPECT_EQ(fields.integer("x\"y"), 5);  // escaped in the text: found decoded
  EXPECT_EQ(fields.integer(""), 6);
  EXPECT_FALSE(fields.contains("abcdefgX"));
  EXPECT_FALSE(fields.contains("abcdefghijkX"));
  EXPECT_FALSE(fields.contains("abcdefghijklmnopX"));
  const std::string key = "abcdefghijkl";
  EXPECT_EQ(fields.integer(std::string_view(key)), 3);
}

TEST(SdkJsonFields, IntegersAtTheEdgesOfInt64) {
  JsonFields fields;
  ASSERT_TRUE(fields.parse(R"({"max":9223372036854775807,"over":9223372036854775808,)"
                           R"("min":-9223372036854775808,"under":-9223372036854775809,)"
                           R"("minus_zero":-0,"huge":123456789012345678901234567890,"exp":1e3})"));
  EXPECT_EQ(fields.integer("max"), INT64_MAX);
  EXPECT_EQ(fields.integer("over", 7), 7);
  EXPECT_EQ(fields.integer("min"), INT64_MIN);
  EXPECT_EQ(fields.integer("under", 7), 7);
  EXPECT_EQ(fields.integer("minus_zero", 7), 0);
  EXPECT_EQ(fields.integer("huge", 7), 7);
  EXPECT_EQ(fields.integer("exp"), 1000);
}

TEST(SdkJsonWriter, BufferHandsOverItsMemory) {
  JsonWriter writer;
  writer.begin_object().field("k", std::string(1000, 'v')).end_object();
  JsonBuffer buffer = writer.take();
  size_t size = 0;
  char* data = buffer.release(size);
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(size, 1008u);
  EXPECT_EQ(reference(std::string_view(data, size))["k"].get<std::string>().size(), 1000u);
  free(data);
  EXPECT_TRUE(buffer.empty());
}

// Random documents, and random corruptions of them: both parsers agree on validity and value.
TEST(SdkJsonFuzz, AgreesWithNlohmannOnRandomAndCorruptedDocuments) {
  std::mt19937 rng(12345);
  auto random_string = [&] {
    static const std::string alphabet = std::string("abc \"\\/\n\t\x01\x7f") + "\xc3\xa9" + "\xff";
    std::string s;
    const int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  std::function<Json(int)> random_value = [&](int depth) -> Json {
    switch (rng() % (depth > 3 ? 5 : 7)) {
      case 0:
        return nullptr;
      case 1:
        return rng() % 2 == 0;
      case 2:
        return static_cast<int64_t>(rng()) - (1ll << 31);
      case 3:
        return static_cast<double>(rng()) / 7.0;
      case 4:
        return random_string();
      case 5: {
        Json array = Json::array();
        for (int i = static_cast<int>(rng() % 4); i > 0; --i)
          array.push_back(random_value(depth + 1));
        return array;
      }
      default: {
        Json object = Json::object();
        for (int i = static_cast<int>(rng() % 4); i > 0; --i) {
          object[random_string()] = random_value(depth + 1);
        }
        return object;
      }
    }
  };
  static const char kNoise[] = "{}[]\",:\\0123456789eE+-.tfnu \n\x01\xff\xc3";
  for (int round = 0; round < 3000; ++round) {
    const Json value = random_value(0);
    std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    ASSERT_EQ(parse_json(text), reference(text)) << text;
    EXPECT_EQ(to_json_text(reference(text)), reference(text).dump());
    for (int edit = static_cast<int>(rng() % 3) + 1; edit > 0 && !text.empty(); --edit) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = kNoise[rng() % (sizeof kNoise - 1)];
          break;
        case 1:
          text.erase(at, 1);
          break;
        default:
          text.insert(at, 1, kNoise[rng() % (sizeof kNoise - 1)]);
          break;
      }
    }
    const Json expected = reference(text);
    const Json actual = parse_json(text);
    ASSERT_EQ(actual.is_discarded(), expected.is_discarded()) << text;
    if (!expected.is_discarded()) {
      ASSERT_EQ(actual, expected) << text;
    }
    JsonFields fields;
    ASSERT_EQ(fields.parse(text), !expected.is_discarded() && expected.is_object()) << text;
  }
}

}  // namespace
}  // namespace reglet::sdk
