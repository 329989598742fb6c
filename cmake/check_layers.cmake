# Fails when a file of the core (src/core, include/syngate/core) or the BPF
# program includes a syngate header from outside the core.  Run with
# -DROOT=<source dir>.
file(GLOB_RECURSE core_files
  ${ROOT}/src/core/*.c ${ROOT}/include/syngate/core/*.h ${ROOT}/src/bpf/*.c)
set(bad "")
foreach(f IN LISTS core_files)
  file(STRINGS ${f} lines REGEX "^#[ \t]*include[ \t]*\"syngate/")
  foreach(l IN LISTS lines)
    if(NOT l MATCHES "\"syngate/core/")
      file(RELATIVE_PATH rel ${ROOT} ${f})
      string(APPEND bad "  ${rel}: ${l}\n")
    endif()
  endforeach()
endforeach()
if(bad)
  message(FATAL_ERROR "the core includes headers of other layers:\n${bad}")
endif()
