# What `make install` and `cpack -G DEB` put where (included by CMakeLists.txt
# after the syngate target).  With CMAKE_INSTALL_PREFIX=/usr the Debian
# package holds:
#   /usr/sbin/syngate                         the daemon and CLI
#   /usr/lib/syngate/syngate_xdp.o            the XDP program (the binary's default,
#                                             SYNGATE_XDP_INSTALLED, is this path)
#   /etc/syngate/syngate.conf                 example configuration (conffile)
#   /lib/systemd/system/syngate.service       deploy/syngate.service, paths set
#   /usr/share/man/man8/syngate.8.gz          syngate(8)
#   /usr/share/man/man5/syngate.conf.5.gz     syngate.conf(5), options generated
#   /usr/share/bash-completion/completions/syngate   generated
#   /usr/share/doc/syngate/                   README.md, docs/, rules/README.md,
#                                             examples/: the sysctl drop-in, fleet/
#                                             (conntrackd), grafana/, prometheus/
# and maintainer scripts (deploy/deb/) that create the syngate system user
# and /var/lib/syngate (0700), and take them away on purge.
set(SYNGATE_UNITDIR /lib/systemd/system CACHE PATH "where the systemd unit is installed")
set(gen ${CMAKE_SOURCE_DIR}/cmake/generate.cmake)
set(gen_vars -DVERSION=${PROJECT_VERSION} -DSYSCONFDIR=${CMAKE_INSTALL_FULL_SYSCONFDIR}
  -DDOCDIR=${CMAKE_INSTALL_FULL_DOCDIR} -DXDP_OBJECT=${SYNGATE_XDP_INSTALLED}
  -DSBINDIR=${CMAKE_INSTALL_FULL_SBINDIR})

# The manual pages: syngate.conf(5)'s option list and the bash completion
# come from the options table, through the binary just built.
set(man8 ${CMAKE_BINARY_DIR}/man/syngate.8.gz)
set(man5 ${CMAKE_BINARY_DIR}/man/syngate.conf.5.gz)
set(completion ${CMAKE_BINARY_DIR}/completion/syngate)
set(unit ${CMAKE_BINARY_DIR}/syngate.service)
add_custom_command(OUTPUT ${man8}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
  COMMAND ${CMAKE_COMMAND} -DMODE=man -DIN=${CMAKE_SOURCE_DIR}/deploy/man/syngate.8
    -DOUT=${man8} ${gen_vars} -P ${gen}
  DEPENDS deploy/man/syngate.8 ${gen} COMMENT "syngate(8)")
add_custom_command(OUTPUT ${man5}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
  COMMAND ${CMAKE_COMMAND} -DMODE=man -DIN=${CMAKE_SOURCE_DIR}/deploy/man/syngate.conf.5.in
    -DOUT=${man5} -DSYNGATE=$<TARGET_FILE:syngate> ${gen_vars} -P ${gen}
  DEPENDS deploy/man/syngate.conf.5.in ${gen} syngate COMMENT "syngate.conf(5)")
add_custom_command(OUTPUT ${completion}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/completion
  COMMAND $<TARGET_FILE:syngate> help-config --bash-completion > ${completion}
  DEPENDS syngate COMMENT "bash completion")
add_custom_command(OUTPUT ${unit}
  COMMAND ${CMAKE_COMMAND} -DMODE=unit -DIN=${CMAKE_SOURCE_DIR}/deploy/syngate.service
    -DOUT=${unit} ${gen_vars} -P ${gen}
  DEPENDS deploy/syngate.service ${gen} COMMENT "syngate.service")
add_custom_target(syngate_docs ALL DEPENDS ${man8} ${man5} ${completion} ${unit})

install(FILES ${man8} DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${man5} DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${completion} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${unit} DESTINATION ${SYNGATE_UNITDIR})
install(FILES deploy/syngate.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/syngate)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES rules/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/rules)
install(FILES deploy/60-syngate-sysctl.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY deploy/fleet deploy/grafana deploy/prometheus DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
  USE_SOURCE_PERMISSIONS)

# cpack -G DEB.  The package's paths are the build's (CPACK_PACKAGING_INSTALL_PREFIX
# = CMAKE_INSTALL_PREFIX), so the XDP path compiled in is where the package puts
# it: configure with -DCMAKE_INSTALL_PREFIX=/usr for a Debian package.
configure_file(deploy/deb/conffiles.in ${CMAKE_BINARY_DIR}/deb/conffiles @ONLY)
foreach(s postinst prerm postrm)
  configure_file(deploy/deb/${s} ${CMAKE_BINARY_DIR}/deb/${s} COPYONLY)
endforeach()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME syngate)
set(CPACK_PACKAGE_VENDOR syngate)
set(CPACK_PACKAGE_CONTACT "syngate maintainers <syngate@example.org>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "SYN-flood defense: SYN proxy on NFQUEUE, conntrack and XDP")
set(CPACK_PACKAGE_DESCRIPTION "syngate answers client SYNs with SYN cookies (in an XDP program or
from an NFQUEUE), creates the conntrack entry when a valid cookie ACK arrives,
completes the handshake with the backend and leaves the data path to the kernel.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, iptables, ipset")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "bash-completion")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "conntrackd") # replicates the spliced entries between routers (docs/fleet.md)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/deb/conffiles
  ${CMAKE_BINARY_DIR}/deb/postinst ${CMAKE_BINARY_DIR}/deb/prerm ${CMAKE_BINARY_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_SOURCE_IGNORE_FILES "/build.*/;/\\\\.git/")
include(CPack)
