#include "runtime/wasi/state.h"

#include <fcntl.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace reglet::runtime::wasi {

WasiState::WasiState(InstanceContext& context) : impl_(std::make_unique<Impl>(context)) {}

// Out of line: Impl is complete only here. The descriptors' RAII handles close every host fd.
WasiState::~WasiState() = default;

namespace {

std::unique_ptr<Descriptor> make_stream(DescriptorKind kind) {
  auto descriptor = std::make_unique<Descriptor>();
  descriptor->kind = kind;
  // A character device without seek/tell rights is what wasi-libc's isatty() recognises: stdout
  // is then line buffered, so that each printf'd line reaches the log when it is complete rather
  // than when a reactor that never exits would flush it.
  descriptor->filetype = Filetype::character_device;
  descriptor->rights_base =
      rights::fd_fdstat_set_flags | rights::fd_filestat_get | rights::poll_fd_readwrite;
  if (kind == DescriptorKind::stdin_stream) {
    descriptor->rights_base |= rights::fd_read;
  } else {
    descriptor->rights_base |= rights::fd_write | rights::fd_sync | rights::fd_datasync;
  }
  return descriptor;
}

std::unique_ptr<Descriptor> make_root() {
  auto descriptor = std::make_unique<Descriptor>();
  descriptor->kind = DescriptorKind::directory;
  descriptor->filetype = Filetype::directory;
  descriptor->path = "/";
  descriptor->preopen = true;
  descriptor->rights_base = rights::directory_base;
  descriptor->rights_inheriting = rights::all;
  return descriptor;
}

Errno canonical_error(const Error& error) {
  // canonicalize_path explains itself in words only; these are the failures a guest can act on.
  if (error.message.find("symbolic links") != std::string::npos) return Errno::loop;
  if (error.message.find("too long") != std::string::npos) return Errno::nametoolong;
  if (error.code == ErrorCode::io_error) return Errno::io;
  return Errno::inval;
}

void split(const std::string& path, std::string& parent, std::string& name) {
  if (path == "/") {
    parent = "/";
    name.clear();
    return;
  }
  const size_t slash = path.rfind('/');
  parent = slash == 0 ? std::string("/") : path.substr(0, slash);
  name = path.substr(slash + 1);
}

std::string join(std::string_view directory, std::string_view name) {
  std::string path(directory);
  if (path.empty() || path.back() != '/') path += '/';
  path += name;
  return path;
}

}  // namespace

WasiState::Impl::Impl(InstanceContext& context) : context(context) {
  table.push_back(make_stream(DescriptorKind::stdin_stream));
  table.push_back(make_stream(DescriptorKind::stdout_stream));
  table.push_back(make_stream(DescriptorKind::stderr_stream));
  table.push_back(make_root());
}

Descriptor* WasiState::Impl::get(uint32_t fd) {
  return fd < table.size() ? table[fd].get() : nullptr;
}

bool WasiState::Impl::has_free_slot() const {
  if (table.size() < kMaxDescriptors) return true;
  return std::any_of(table.begin(), table.end(), [](const auto& entry) { return !entry; });
}

std::optional<uint32_t> WasiState::Impl::insert(std::unique_ptr<Descriptor> descriptor) {
  for (size_t i = 0; i < table.size(); ++i) {
    if (!table[i]) {
      table[i] = std::move(descriptor);
      return static_cast<uint32_t>(i);
    }
  }
  if (table.size() >= kMaxDescriptors) return std::nullopt;
  table.push_back(std::move(descriptor));
  return static_cast<uint32_t>(table.size() - 1);
}

const std::vector<std::string>& WasiState::Impl::visible_environment() {
  if (environment) return *environment;
  std::vector<std::string> visible;
  for (const auto& [name, value] : context.services().environment) {
    // A NUL would cut the entry short in the guest's C strings; such variables are not shown.
    if (value.find('\0') != std::string::npos) continue;
    Decision decision = CapabilityManager::check_env(context.grants(), name);
    if (!decision.allowed) continue;  // never asked for by name: not a denial worth recording
    context.audit("environ_get", {{"name", name}}, decision);
    visible.push_back(name + "=" + value);
  }
  environment = std::move(visible);
  return *environment;
}

Errno Call::read_path(uint32_t ptr, uint32_t len, std::string& out) const {
  auto text = memory_.string(ptr, len);
  if (!text) return Errno::fault;
  if (len > kMaxPathBytes) return Errno::nametoolong;
  if (text->find('\0') != std::string_view::npos) return Errno::inval;
  out.assign(*text);
  return Errno::success;
}

Errno Call::lookup(uint32_t fd, uint64_t needed_rights, Descriptor*& out) {
  out = state_.get(fd);
  if (out == nullptr) return Errno::badf;
  if ((out->rights_base & needed_rights) != needed_rights) return Errno::notcapable;
  return Errno::success;
}

Errno Call::lookup_directory(uint32_t fd, uint64_t needed_rights, Descriptor*& out) {
  out = state_.get(fd);
  if (out == nullptr) return Errno::badf;
  if (out->kind != DescriptorKind::directory) return Errno::notdir;
  if ((out->rights_base & needed_rights) != needed_rights) return Errno::notcapable;
  return Errno::success;
}

Errno Call::resolve(const Descriptor& dir, std::string_view relative, Lookup lookup,
                    ResolvedPath& out) const {
  if (relative.empty()) return Errno::noent;
  // Paths are relative to a directory descriptor in WASI; wasi-libc and Go strip the preopen's
  // prefix before calling. An absolute path would ignore the descriptor it was given.
  if (relative.front() == '/') return Errno::notcapable;

  const std::string joined = join(dir.path, relative);
  size_t end = joined.size();
  while (end > 1 && joined[end - 1] == '/') --end;
  out.trailing_slash = end != joined.size();
  const std::string_view trimmed(joined.data(), end);
  const size_t slash = trimmed.rfind('/');
  const std::string_view last = trimmed.substr(slash + 1);
  const std::string_view parent_text =
      slash == 0 ? std::string_view("/") : trimmed.substr(0, slash);
  const bool dot = last == "." || last == "..";

  const bool full = lookup == Lookup::follow ||
                    (lookup == Lookup::no_follow && (out.trailing_slash || dot || last.empty()));
  if (full) {
    auto canonical = canonicalize_path(joined);
    if (!canonical.ok()) return canonical_error(canonical.error());
    out.path = std::move(*canonical);
    split(out.path, out.parent, out.name);
    return Errno::success;
  }
  auto parent = canonicalize_path(parent_text);
  if (!parent.ok()) return canonical_error(parent.error());
  out.parent = std::move(*parent);
  out.name = std::string(last);
  out.path = join(out.parent, out.name);
  if (out.path.size() > kMaxPathBytes) return Errno::nametoolong;
  return Errno::success;
}

Errno Call::check(FsAccess access, const std::string& path, uint32_t fd,
                  std::string_view request_path) {
  // The same decision CapabilityManager::check_fs makes (canonicalise, then match), on a path
  // resolve() has already canonicalised: one resolution serves both the read and the write check
  // of one call, and a path opened without following its last symlink is checked as that link.
  Decision decision;
  decision.capability = std::string(access == FsAccess::read ? "fs:read:" : "fs:write:") + path;
  decision.resolved = path;
  decision.allowed = context_.grants().allows_fs(access, path);
  context_.audit(function_,
                 {{"fd", fd},
                  {"path", std::string(request_path)},
                  {"resolved", path},
                  {"access", access == FsAccess::read ? "read" : "write"}},
                 decision);
  return decision.allowed ? Errno::success : Errno::acces;
}

Errno Call::check_descriptor(Descriptor& descriptor, FsAccess access, uint32_t fd) {
  bool& granted = access == FsAccess::read ? descriptor.may_read : descriptor.may_write;
  if (granted) return Errno::success;
  const Errno result = check(access, descriptor.path, fd, descriptor.path);
  // Grants are fixed for the life of an instance, so one allowed check holds for the rest of it.
  if (result == Errno::success) granted = true;
  return result;
}

Errno gather_iovecs(const GuestMemory& memory, uint32_t iovs, uint32_t count, uint64_t max_total,
                    std::vector<std::span<uint8_t>>& out) {
  if (!memory.contains(iovs, static_cast<uint64_t>(count) * layout::iovec_size)) {
    return Errno::fault;
  }
  if (count > kMaxIovecs) return Errno::inval;
  out.clear();
  uint64_t remaining = max_total;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t entry =
        static_cast<uint64_t>(iovs) + static_cast<uint64_t>(i) * layout::iovec_size;
    const auto ptr = memory.load<uint32_t>(entry);
    const auto len = memory.load<uint32_t>(entry + 4);
    if (!ptr || !len) return Errno::fault;
    // Every buffer must be valid, even those past the clamp: a bad pointer is EFAULT whether or
    // not this call would have reached it.
    auto buffer = memory.bytes(*ptr, *len);
    if (!buffer) return Errno::fault;
    const uint64_t take = std::min<uint64_t>(*len, remaining);
    if (take > 0) out.push_back(buffer->subspan(0, static_cast<size_t>(take)));
    remaining -= take;
  }
  return Errno::success;
}

Errno ensure_host(Descriptor& descriptor) {
  if (descriptor.host) return Errno::success;
  if (descriptor.kind != DescriptorKind::directory) return Errno::badf;
  OpenResult opened = open_no_symlinks(descriptor.path, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
  if (auto* error = std::get_if<Errno>(&opened)) return *error;
  descriptor.host = std::move(std::get<UniqueFd>(opened));
  return Errno::success;
}

}  // namespace reglet::runtime::wasi
