# Building WebAssembly guests (plugins) with clang-14 --target=wasm32-wasi and Debian's wasi-libc.
#
#   reglet_add_plugin(NAME name SOURCES a.cpp ... [OUTPUT path.wasm] [FLAGS ...] [LANGUAGE C|CXX])
#
# produces ${OUTPUT} (default ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm) and a custom target
# `${name}-wasm`. Plugins are WASI reactors; the guest SDK (sdk/include) and nlohmann-json are on
# the include path, with exceptions off.
find_program(REGLET_WASM_CXX NAMES clang++-14 clang++ REQUIRED)
find_program(REGLET_WASM_CC NAMES clang-14 clang REQUIRED)
find_program(REGLET_WAT2WASM wat2wasm REQUIRED)
find_program(REGLET_WASM_STRIP wasm-strip)

set(REGLET_WASM_SYSROOT "/usr" CACHE PATH "wasi-libc sysroot (Debian: /usr)")
# nlohmann-json lives in /usr/include, which must not be on a guest's include path as a whole
# (host headers); a directory holding just that link is.
set(REGLET_GUEST_INCLUDE "${CMAKE_BINARY_DIR}/guest-include")
file(MAKE_DIRECTORY "${REGLET_GUEST_INCLUDE}")
file(CREATE_LINK /usr/include/nlohmann "${REGLET_GUEST_INCLUDE}/nlohmann" SYMBOLIC)

set(REGLET_WASM_COMMON_FLAGS
  --target=wasm32-wasi --sysroot=${REGLET_WASM_SYSROOT} -O2 -mexec-model=reactor
  -isystem ${REGLET_GUEST_INCLUDE} -I${REGLET_SOURCE_DIR}/sdk/include
  -Wall -Wextra -Werror)
# NDEBUG: nlohmann-json's internal invariant asserts were a quarter of a small observation's
# instructions in the guest.
set(REGLET_WASM_CXX_FLAGS -std=c++17 -DNDEBUG -fno-exceptions -fno-rtti -DJSON_NOEXCEPTION
  -DJSON_HAS_FILESYSTEM=0 -DJSON_HAS_EXPERIMENTAL_FILESYSTEM=0)

# The SDK's bulk-memory helpers (sdk/src/bulk_memory.c), compiled once, linked into every C++
# plugin.
set(REGLET_SDK_SUPPORT_OBJECT "${CMAKE_BINARY_DIR}/sdk-support/bulk_memory.o")
add_custom_command(
  OUTPUT ${REGLET_SDK_SUPPORT_OBJECT}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/sdk-support
  COMMAND ${REGLET_WASM_CC} --target=wasm32-wasi --sysroot=${REGLET_WASM_SYSROOT} -O2
          -mbulk-memory -Wall -Wextra -Werror -c ${REGLET_SOURCE_DIR}/sdk/src/bulk_memory.c
          -o ${REGLET_SDK_SUPPORT_OBJECT}
  DEPENDS ${REGLET_SOURCE_DIR}/sdk/src/bulk_memory.c
  COMMENT "Building the guest SDK's bulk-memory helpers"
  VERBATIM)
add_custom_target(reglet-sdk-support DEPENDS ${REGLET_SDK_SUPPORT_OBJECT})

function(reglet_add_plugin)
  cmake_parse_arguments(P "" "NAME;OUTPUT;LANGUAGE" "SOURCES;FLAGS;DEPENDS" ${ARGN})
  if(NOT P_OUTPUT)
    set(P_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${P_NAME}.wasm)
  endif()
  set(sources)
  foreach(s ${P_SOURCES})
    get_filename_component(abs ${s} ABSOLUTE)
    list(APPEND sources ${abs})
  endforeach()
  if(P_LANGUAGE STREQUAL "C")
    set(compiler ${REGLET_WASM_CC})
    set(lang_flags -std=c11)
  else()
    set(compiler ${REGLET_WASM_CXX})
    set(lang_flags ${REGLET_WASM_CXX_FLAGS})
    list(APPEND sources ${REGLET_SDK_SUPPORT_OBJECT})
  endif()
  file(GLOB_RECURSE sdk_headers CONFIGURE_DEPENDS ${REGLET_SOURCE_DIR}/sdk/include/*.h)
  set(strip_cmd)
  if(REGLET_WASM_STRIP)
    set(strip_cmd COMMAND ${REGLET_WASM_STRIP} ${P_OUTPUT})
  endif()
  add_custom_command(
    OUTPUT ${P_OUTPUT}
    COMMAND ${compiler} ${REGLET_WASM_COMMON_FLAGS} ${lang_flags} ${P_FLAGS} -o ${P_OUTPUT} ${sources}
    ${strip_cmd}
    DEPENDS ${sources} ${sdk_headers} ${P_DEPENDS}
    COMMENT "Building WebAssembly plugin ${P_NAME}"
    VERBATIM)
  add_custom_target(${P_NAME}-wasm ALL DEPENDS ${P_OUTPUT})
  add_dependencies(${P_NAME}-wasm reglet-sdk-support)
endfunction()

# reglet_add_wat(NAME name SOURCE file.wat [OUTPUT path.wasm]): hand-written test modules.
function(reglet_add_wat)
  cmake_parse_arguments(W "" "NAME;SOURCE;OUTPUT" "" ${ARGN})
  if(NOT W_OUTPUT)
    set(W_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${W_NAME}.wasm)
  endif()
  get_filename_component(src ${W_SOURCE} ABSOLUTE)
  add_custom_command(OUTPUT ${W_OUTPUT}
    COMMAND ${REGLET_WAT2WASM} --enable-all --no-check ${src} -o ${W_OUTPUT}
    DEPENDS ${src} COMMENT "wat2wasm ${W_NAME}" VERBATIM)
  add_custom_target(${W_NAME}-wat ALL DEPENDS ${W_OUTPUT})
endfunction()
