// wasi::resolve: binds imports of wasi_snapshot_preview1 to their implementations, and wraps each
// one so that nothing escapes to the engine but an errno result or a deliberate Trap.
#include "runtime/wasi/wasi.h"

#include <array>
#include <exception>
#include <new>

#include "runtime/wasi/state.h"

namespace reglet::runtime::wasi {
namespace {

constexpr std::string_view kModule = "wasi_snapshot_preview1";

Errno not_implemented(Call&) {
  return Errno::nosys;
}

struct Entry {
  std::string_view name;
  // Parameters, then ':', then results: 'i' for i32, 'I' for i64 (witx's lowering).
  std::string_view signature;
  Handler handler;
};

// Every preview1 function, with the signature of legacy/preview1/witx/wasi_snapshot_preview1.witx
// as wasi-libc's api.h and Go's syscall package import it. Those answering ENOSYS are listed too,
// so that a mismatched signature is refused for them as well.
constexpr std::array kFunctions = {
    Entry{"args_get", "ii:i", args_get},
    Entry{"args_sizes_get", "ii:i", args_sizes_get},
    Entry{"environ_get", "ii:i", environ_get},
    Entry{"environ_sizes_get", "ii:i", environ_sizes_get},
    Entry{"clock_res_get", "ii:i", clock_res_get},
    Entry{"clock_time_get", "iIi:i", clock_time_get},
    Entry{"fd_advise", "iIIi:i", fd_advise},
    Entry{"fd_allocate", "iII:i", not_implemented},
    Entry{"fd_close", "i:i", fd_close},
    Entry{"fd_datasync", "i:i", fd_datasync},
    Entry{"fd_fdstat_get", "ii:i", fd_fdstat_get},
    Entry{"fd_fdstat_set_flags", "ii:i", fd_fdstat_set_flags},
    Entry{"fd_fdstat_set_rights", "iII:i", fd_fdstat_set_rights},
    Entry{"fd_filestat_get", "ii:i", fd_filestat_get},
    Entry{"fd_filestat_set_size", "iI:i", fd_filestat_set_size},
    Entry{"fd_filestat_set_times", "iIIi:i", not_implemented},
    Entry{"fd_pread", "iiiIi:i", fd_pread},
    Entry{"fd_prestat_get", "ii:i", fd_prestat_get},
    Entry{"fd_prestat_dir_name", "iii:i", fd_prestat_dir_name},
    Entry{"fd_pwrite", "iiiIi:i", fd_pwrite},
    Entry{"fd_read", "iiii:i", fd_read},
    Entry{"fd_readdir", "iiiIi:i", fd_readdir},
    Entry{"fd_renumber", "ii:i", fd_renumber},
    Entry{"fd_seek", "iIii:i", fd_seek},
    Entry{"fd_sync", "i:i", fd_sync},
    Entry{"fd_tell", "ii:i", fd_tell},
    Entry{"fd_write", "iiii:i", fd_write},
    Entry{"path_create_directory", "iii:i", path_create_directory},
    Entry{"path_filestat_get", "iiiii:i", path_filestat_get},
    Entry{"path_filestat_set_times", "iiiiIIi:i", not_implemented},
    // A hard link made inside a writable tree to a file outside it would let writes through the
    // link escape the fs:write check on the file's real location.
    Entry{"path_link", "iiiiiii:i", not_implemented},
    Entry{"path_open", "iiiiiIIii:i", path_open},
    Entry{"path_readlink", "iiiiii:i", path_readlink},
    Entry{"path_remove_directory", "iii:i", path_remove_directory},
    Entry{"path_rename", "iiiiii:i", path_rename},
    Entry{"path_symlink", "iiiii:i", path_symlink},
    Entry{"path_unlink_file", "iii:i", path_unlink_file},
    Entry{"poll_oneoff", "iiii:i", poll_oneoff},
    Entry{"proc_exit", "i:", proc_exit},
    Entry{"proc_raise", "i:i", not_implemented},
    Entry{"sched_yield", ":i", sched_yield},
    Entry{"random_get", "ii:i", random_get},
    // The network is reachable only through reglet_host, where every address is checked.
    Entry{"sock_accept", "iii:i", not_implemented},
    Entry{"sock_recv", "iiiiii:i", not_implemented},
    Entry{"sock_send", "iiiii:i", not_implemented},
    Entry{"sock_shutdown", "ii:i", not_implemented},
};

engine::FuncSig parse_signature(std::string_view text) {
  engine::FuncSig sig;
  std::vector<engine::ValType>* out = &sig.params;
  for (char c : text) {
    if (c == ':') {
      out = &sig.results;
    } else {
      out->push_back(c == 'I' ? engine::ValType::i64 : engine::ValType::i32);
    }
  }
  return sig;
}

engine::Trap internal_trap(const std::string& name, std::string_view what) {
  return engine::Trap{engine::TrapKind::host_error,
                      std::string(kModule) + "." + name + ": " + std::string(what), 0,
                      ErrorCode::internal};
}

engine::HostFunc make_host_func(std::string name, engine::FuncSig sig, Handler handler) {
  engine::HostFunc func;
  func.module = std::string(kModule);
  func.name = name;
  func.sig = std::move(sig);
  func.callback = [handler, name = std::move(name)](
                      engine::Caller& caller, std::span<const engine::Value> args,
                      std::span<engine::Value> results) -> std::optional<engine::Trap> {
    auto* context = static_cast<InstanceContext*>(caller.host_data());
    if (context == nullptr) return internal_trap(name, "called without an instance context");
    Errno result = Errno::success;
    try {
      Call call(caller, *context, name, args);
      result = handler(call);
      if (call.trap) return std::move(call.trap);
    } catch (const std::bad_alloc&) {
      result = Errno::nomem;
    } catch (const std::exception& e) {
      return internal_trap(name, e.what());
    } catch (...) {
      return internal_trap(name, "unknown exception");
    }
    if (!results.empty()) results[0] = engine::Value::i32(static_cast<uint16_t>(result));
    return std::nullopt;
  };
  return func;
}

}  // namespace

Result<engine::HostFunc> resolve(std::string_view name, const engine::FuncSig& sig) {
  const std::string qualified = std::string(kModule) + "." + std::string(name);
  for (const Entry& entry : kFunctions) {
    if (entry.name != name) continue;
    engine::FuncSig expected = parse_signature(entry.signature);
    if (expected != sig) {
      return make_error(ErrorCode::abi_error, "import " + qualified + " has signature " +
                                                  sig.to_string() + ", expected " +
                                                  expected.to_string());
    }
    return make_host_func(std::string(name), std::move(expected), entry.handler);
  }
  // Functions added to preview1 after us, or misspelt: the specification lets a host answer
  // ENOSYS, which needs a single i32 result to carry it.
  if (sig.results.size() == 1 && sig.results[0] == engine::ValType::i32) {
    return make_host_func(std::string(name), sig, not_implemented);
  }
  return make_error(ErrorCode::abi_error,
                    "import " + qualified + " with signature " + sig.to_string() +
                        " is not a WASI preview1 function this host provides");
}

}  // namespace reglet::runtime::wasi
