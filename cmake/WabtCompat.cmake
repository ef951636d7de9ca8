# WABT 1.0.32's interpreter headers do not compile as C++20 (GCC 12 rejects the template-id
# destructors `~FreeList<T>()`), and the interpreter offers no way to reset an instance's memory
# size or to size a thread's stacks. We generate, at configure time, a copy of those headers with
# two mechanical edits and put it before /usr/include on the engine's include path:
#   1. `~FreeList<T>()` -> `~FreeList()` (same meaning, valid C++20);
#   2. `friend struct ::RegletWabtAccess;` in Memory and Thread, so that src/engine/interp can
#      shrink a memory back to its pre-initialised size and give threads deeper stacks.
# Neither edit changes a class layout, so the result links with Debian's libwabt.a.
get_target_property(_wabt_includes wabt::wabt INTERFACE_INCLUDE_DIRECTORIES)
find_path(REGLET_WABT_INCLUDE wabt/interp/interp.h HINTS ${_wabt_includes} REQUIRED)
set(REGLET_WABT_COMPAT_DIR ${CMAKE_BINARY_DIR}/wabt-compat)
file(GLOB _wabt_interp_headers ${REGLET_WABT_INCLUDE}/wabt/interp/*.h)
foreach(header ${_wabt_interp_headers})
  get_filename_component(name ${header} NAME)
  file(READ ${header} text)
  string(REPLACE "~FreeList<Ref>()" "~FreeList()" text "${text}")
  string(REPLACE "~FreeList<T>()" "~FreeList()" text "${text}")
  if(name STREQUAL "interp.h")
    string(REPLACE "#define WABT_INTERP_H_\n" "#define WABT_INTERP_H_\nstruct RegletWabtAccess;\n"
           text "${text}")
    string(REPLACE "class Memory : public Extern {\n"
           "class Memory : public Extern {\n  friend struct ::RegletWabtAccess;\n" text "${text}")
    string(REPLACE "class Thread {\n" "class Thread {\n  friend struct ::RegletWabtAccess;\n"
           text "${text}")
    string(FIND "${text}" "friend struct ::RegletWabtAccess" _found)
    if(_found EQUAL -1)
      message(FATAL_ERROR "WABT's interp.h changed: cannot apply the compat edits")
    endif()
  endif()
  # Written through configure_file so that an unchanged header keeps its timestamp.
  file(WRITE ${CMAKE_BINARY_DIR}/wabt-compat.tmp/${name} "${text}")
  configure_file(${CMAKE_BINARY_DIR}/wabt-compat.tmp/${name}
                 ${REGLET_WABT_COMPAT_DIR}/wabt/interp/${name} COPYONLY)
endforeach()
