// Checked access to a guest's linear memory. Every pointer and length that comes from a plugin
// goes through here: ranges are checked in 64-bit arithmetic, so that ptr + len cannot wrap.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace reglet::runtime {

struct GuestRange {
  uint32_t ptr = 0;
  uint32_t len = 0;
};

// The ABI's packed i64: (ptr << 32) | len.
inline GuestRange unpack(uint64_t packed) {
  return {static_cast<uint32_t>(packed >> 32), static_cast<uint32_t>(packed & 0xffffffffu)};
}
inline uint64_t pack(uint32_t ptr, uint32_t len) {
  return (static_cast<uint64_t>(ptr) << 32) | len;
}

class GuestMemory {
 public:
  explicit GuestMemory(std::span<uint8_t> memory) : memory_(memory) {}

  size_t size() const { return memory_.size(); }

  bool contains(uint64_t ptr, uint64_t len) const {
    return ptr <= memory_.size() && len <= memory_.size() - ptr;
  }

  std::optional<std::span<uint8_t>> bytes(uint64_t ptr, uint64_t len) const {
    if (!contains(ptr, len)) return std::nullopt;
    return memory_.subspan(static_cast<size_t>(ptr), static_cast<size_t>(len));
  }

  std::optional<std::string_view> string(uint64_t ptr, uint64_t len) const {
    auto range = bytes(ptr, len);
    if (!range) return std::nullopt;
    return std::string_view(reinterpret_cast<const char*>(range->data()), range->size());
  }

  // Little-endian scalars (WebAssembly's byte order, and this host's).
  template <class T>
  std::optional<T> load(uint64_t ptr) const {
    auto range = bytes(ptr, sizeof(T));
    if (!range) return std::nullopt;
    T value;
    std::memcpy(&value, range->data(), sizeof(T));
    return value;
  }

  template <class T>
  bool store(uint64_t ptr, T value) const {
    auto range = bytes(ptr, sizeof(T));
    if (!range) return false;
    std::memcpy(range->data(), &value, sizeof(T));
    return true;
  }

  bool write(uint64_t ptr, std::span<const uint8_t> data) const {
    auto range = bytes(ptr, data.size());
    if (!range) return false;
    if (!data.empty()) std::memcpy(range->data(), data.data(), data.size());
    return true;
  }
  bool write(uint64_t ptr, std::string_view data) const {
    return write(ptr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()),
                                               data.size()));
  }

 private:
  std::span<uint8_t> memory_;
};

}  // namespace reglet::runtime
