# Compiler and linker flags every enkrypt target gets: warnings as errors and
# hardening (FORTIFY, stack protector, PIE, full RELRO, no executable stack).
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2 -Wvla)

if(EK_SANITIZE)
  # FORTIFY is left out here: ASan does the same checks and more.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(EK_SANITIZE=1)
else()
  add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
endif()

if(EK_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

add_compile_options(-fstack-protector-strong)
add_link_options(-Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
# Position independence comes from CMAKE_POSITION_INDEPENDENT_CODE: -fPIC for
# the libraries' objects, -fPIE for executables, which are linked with -pie.
set(CMAKE_EXE_LINKER_FLAGS "${CMAKE_EXE_LINKER_FLAGS} -pie")
