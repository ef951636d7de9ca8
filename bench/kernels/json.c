/* A JSON tokenizer: the byte-at-a-time branchy scanning that plugins do when they parse what a
 * host function returned. It splits the text into tokens (punctuation, strings with their escapes,
 * numbers, literals) without building a tree, and folds every token's kind, length and (for
 * numbers) integer part into an FNV-1a hash, so that two runs agree only if they tokenized
 * alike. */
#include "kernels.h"

#define FNV_PRIME 16777619u

static uint32_t mix(uint32_t hash, uint32_t value) {
  return (hash ^ value) * FNV_PRIME;
}

static int is_digit(uint8_t c) {
  return c >= '0' && c <= '9';
}

/* Returns the index just past the literal `word` at data[i], or 0 when it is not there. */
static uint32_t literal(const uint8_t* data, uint32_t len, uint32_t i, const char* word) {
  for (; *word; ++word, ++i) {
    if (i >= len || data[i] != (uint8_t)*word) return 0;
  }
  return i;
}

uint32_t kernel_json_tokenize(const uint8_t* data, uint32_t len, uint32_t* tokens) {
  uint32_t hash = 2166136261u;
  uint32_t count = 0;
  uint32_t i = 0;
  *tokens = 0;
  while (i < len) {
    const uint8_t c = data[i];
    const uint32_t start = i;
    uint32_t kind = c;
    uint32_t value = 0;
    switch (c) {
      case ' ':
      case '\t':
      case '\n':
      case '\r':
        ++i;
        continue;
      case '{':
      case '}':
      case '[':
      case ']':
      case ':':
      case ',':
        ++i;
        break;
      case '"':
        for (++i; i < len && data[i] != '"'; ++i) {
          if (data[i] < 0x20) return 0; /* control characters must be escaped */
          if (data[i] == '\\') {
            ++i;
            if (i >= len) return 0;
            if (data[i] == 'u') {
              for (int k = 0; k < 4; ++k) {
                const uint8_t h = ++i < len ? data[i] : 0;
                if (!is_digit(h) && !((h | 0x20) >= 'a' && (h | 0x20) <= 'f')) return 0;
              }
            }
            ++value; /* escapes, folded into the hash */
          }
        }
        if (i >= len) return 0;
        ++i;
        break;
      case 't':
        if (!(i = literal(data, len, i, "true"))) return 0;
        break;
      case 'f':
        if (!(i = literal(data, len, i, "false"))) return 0;
        break;
      case 'n':
        if (!(i = literal(data, len, i, "null"))) return 0;
        break;
      default:
        if (c != '-' && !is_digit(c)) return 0;
        kind = '0';
        if (data[i] == '-') ++i;
        if (i >= len || !is_digit(data[i])) return 0;
        for (; i < len && is_digit(data[i]); ++i) value = value * 10 + (data[i] - '0');
        if (i < len && data[i] == '.') {
          if (++i >= len || !is_digit(data[i])) return 0;
          while (i < len && is_digit(data[i])) ++i;
        }
        if (i < len && (data[i] | 0x20) == 'e') {
          ++i;
          if (i < len && (data[i] == '+' || data[i] == '-')) ++i;
          if (i >= len || !is_digit(data[i])) return 0;
          while (i < len && is_digit(data[i])) ++i;
        }
        break;
    }
    hash = mix(mix(mix(hash, kind), i - start), value);
    ++count;
  }
  *tokens = count;
  return hash;
}
