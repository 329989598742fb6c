# Build-time generation (cmake -P): the manual pages and the installed unit.
#   -DMODE=man  -DIN=page.in -DOUT=page.gz [-DSYNGATE=binary]: substitutes
#       @VERSION@ @SYSCONFDIR@ @DOCDIR@ @XDP_OBJECT@, and @OPTIONS@ with
#       `syngate help-config --man` (the options table), then gzips.
#   -DMODE=unit -DIN=syngate.service -DOUT=...: the unit with the installed
#       binary, config and documentation paths in place of deploy/'s, and
#       man:syngate(8) first in Documentation= (unless it is there).
file(READ ${IN} text)
if(MODE STREQUAL "man")
  if(SYNGATE)
    execute_process(COMMAND ${SYNGATE} help-config --man OUTPUT_VARIABLE options
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${SYNGATE} help-config --man failed")
    endif()
    string(REPLACE "@OPTIONS@" "${options}" text "${text}")
  endif()
  foreach(v VERSION SYSCONFDIR DOCDIR XDP_OBJECT)
    string(REPLACE "@${v}@" "${${v}}" text "${text}")
  endforeach()
  string(REGEX REPLACE "\n\n+" "\n" text "${text}")
  get_filename_component(plain ${OUT} NAME_WLE)
  file(WRITE ${OUT}.tmp "${text}")
  execute_process(COMMAND gzip -9n -c ${OUT}.tmp OUTPUT_FILE ${OUT} RESULT_VARIABLE rc)
  file(REMOVE ${OUT}.tmp)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${OUT} failed")
  endif()
elseif(MODE STREQUAL "unit")
  string(REGEX REPLACE "([=!+@:-])/[^ \n]*/sbin/syngate" "\\1${SBINDIR}/syngate" text "${text}")
  string(REGEX REPLACE "/etc/syngate(/syngate)?\\.conf" "${SYSCONFDIR}/syngate/syngate.conf" text "${text}")
  string(REGEX REPLACE "file://[^ \n]*/doc/syngate/" "file://${DOCDIR}/" text "${text}")
  string(FIND "${text}" "man:syngate(8)" man)
  if(man EQUAL -1)
    string(REGEX REPLACE "\nDocumentation=([^\n]*)" "\nDocumentation=man:syngate(8) \\1" text "${text}")
  endif()
  file(WRITE ${OUT} "${text}")
else()
  message(FATAL_ERROR "generate.cmake: MODE man or unit")
endif()
