# Install rules for everything besides the two binaries, and the CPack
# configuration for the .deb and the .rpm. Included from the top-level
# CMakeLists.txt; `bash packaging/build.sh deb|rpm` drives it.
#
# One tree builds one package flavor: Debian and RPM systems put the unit
# and the flags file in different places.
set(NETOBS_PACKAGE_FLAVOR deb CACHE STRING "Package layout to install: deb or rpm")
set_property(CACHE NETOBS_PACKAGE_FLAVOR PROPERTY STRINGS deb rpm)
if(NETOBS_PACKAGE_FLAVOR STREQUAL "deb")
  # Debian 12 ships units in /lib (its usr-merge is not finished).
  set(NETOBS_UNIT_DIR /lib/systemd/system)
  set(NETOBS_ENVIRONMENT_FILE /etc/default/netobs)
elseif(NETOBS_PACKAGE_FLAVOR STREQUAL "rpm")
  # Relative to the /usr prefix: CPack marks files at absolute paths %config.
  set(NETOBS_UNIT_DIR lib/systemd/system)
  set(NETOBS_ENVIRONMENT_FILE /etc/sysconfig/netobs)
else()
  message(FATAL_ERROR "NETOBS_PACKAGE_FLAVOR must be deb or rpm, got \"${NETOBS_PACKAGE_FLAVOR}\"")
endif()

set(netobs_pkg_src ${CMAKE_CURRENT_LIST_DIR})
set(netobs_pkg_out ${CMAKE_BINARY_DIR}/packaging)

configure_file(${netobs_pkg_src}/systemd/netobs.service.in ${netobs_pkg_out}/netobs.service @ONLY)

# Compressed docs: gzip -n keeps name and time out of the file (reproducible).
set(netobs_gz_outputs)
foreach(doc IN ITEMS man/netobs.1 man/netobs_exporter.8 changelog)
  get_filename_component(name ${doc} NAME)
  add_custom_command(OUTPUT ${netobs_pkg_out}/${name}.gz
    COMMAND gzip -9 -n -c ${netobs_pkg_src}/${doc} > ${netobs_pkg_out}/${name}.gz
    DEPENDS ${netobs_pkg_src}/${doc} VERBATIM)
  list(APPEND netobs_gz_outputs ${netobs_pkg_out}/${name}.gz)
endforeach()
add_custom_target(netobs_package_docs ALL DEPENDS ${netobs_gz_outputs})

# Absolute destinations: /etc and /lib are outside the /usr prefix.
install(FILES ${CMAKE_SOURCE_DIR}/config/netobs.yaml DESTINATION /etc/netobs
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
get_filename_component(netobs_environment_dir ${NETOBS_ENVIRONMENT_FILE} DIRECTORY)
install(FILES ${netobs_pkg_src}/default.in DESTINATION ${netobs_environment_dir} RENAME netobs)
install(FILES ${netobs_pkg_out}/netobs.service DESTINATION ${NETOBS_UNIT_DIR})
install(FILES ${netobs_pkg_out}/netobs.1.gz DESTINATION share/man/man1)
install(FILES ${netobs_pkg_out}/netobs_exporter.8.gz DESTINATION share/man/man8)
install(FILES ${netobs_pkg_src}/completion/netobs DESTINATION share/bash-completion/completions)
install(FILES ${netobs_pkg_src}/completion/netobs DESTINATION share/bash-completion/completions
        RENAME netobs_exporter)
install(FILES ${netobs_pkg_src}/copyright DESTINATION share/doc/netobs)
# The rpm carries its changelog in the header (%changelog).
if(NETOBS_PACKAGE_FLAVOR STREQUAL "deb")
  install(FILES ${netobs_pkg_out}/changelog.gz DESTINATION share/doc/netobs)
endif()
# /var/lib/netobs (netobs:netobs 0750) is made by postinst / %post, after the
# user exists, and by the unit's StateDirectory=.

# ---- CPack -----------------------------------------------------------------
set(CPACK_PACKAGE_NAME netobs)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "netobs maintainers")
set(CPACK_PACKAGE_CONTACT "netobs maintainers <maintainers@users.noreply.b-seed-13630379.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Network observability agent (eBPF) with a Prometheus exporter")
set(CPACK_PACKAGE_DESCRIPTION
    "netobs hooks the Linux kernel with eBPF and publishes socket I/O, TCP RTT,\n"
    "retransmission and connection metrics, DNS latency, XDP packet samples and\n"
    "the system's SNMP counters on a Prometheus /metrics endpoint (port 9723).\n"
    "The netobs command shows the same data at a terminal (stats, conns, trace)\n"
    "and checks what a machine supports (check).")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR ${NETOBS_PACKAGE_FLAVOR})
string(TOUPPER "${CPACK_GENERATOR}" CPACK_GENERATOR)
# No build directory names or dates in the packages.
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # netobs_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${netobs_pkg_src}/deb/conffiles ${netobs_pkg_src}/deb/postinst
    ${netobs_pkg_src}/deb/prerm ${netobs_pkg_src}/deb/postrm)

set(CPACK_RPM_FILE_NAME RPM-DEFAULT)  # netobs-<version>-1.<arch>.rpm
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE "LicenseRef-not-yet-licensed")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${netobs_pkg_src}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${netobs_pkg_src}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${netobs_pkg_src}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${netobs_pkg_src}/rpm/postun.sh)
set(CPACK_RPM_CHANGELOG_FILE ${netobs_pkg_src}/rpm/changelog)
# Directories the distribution owns are not listed as ours.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /etc/sysconfig /usr/lib/systemd /usr/lib/systemd/system /usr/share/bash-completion
    /usr/share/bash-completion/completions /usr/share/man /usr/share/man/man1 /usr/share/man/man8)
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) /etc/netobs/netobs.yaml" "%config(noreplace) /etc/sysconfig/netobs")
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
# Reproducible rpm: times from SOURCE_DATE_EPOCH, no build host name; no
# /usr/lib/.build-id links (they would clash with the distribution's).
string(JOIN "\n" CPACK_RPM_SPEC_MORE_DEFINE
  "%define use_source_date_epoch_as_buildtime 1"
  "%define clamp_mtime_to_source_date_epoch 1"
  "%define _buildhost reproducible"
  "%define _build_id_links none"
  "%define packager ${CPACK_PACKAGE_CONTACT}")

include(CPack)
