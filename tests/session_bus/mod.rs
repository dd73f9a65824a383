//! A private D-Bus session bus for the portal tests: the configuration of a bus that listens
//! on a socket in the test's own directory, lets every test client own any name and activates
//! the system's session services (the portal frontend, the permission store).
#![allow(dead_code)]

use std::path::Path;

/// Writes `dir/bus.conf` for a session bus listening on `dir/bus`; returns the bus address
/// (`DBUS_SESSION_BUS_ADDRESS`). Start it with `dbus-daemon --config-file=dir/bus.conf`.
pub fn write_config(dir: &Path) -> String {
    let address = format!("unix:path={}", dir.join("bus").display());
    std::fs::write(
        dir.join("bus.conf"),
        format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{address}</listen>
  <auth>EXTERNAL</auth>
  <standard_session_servicedirs/>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#
        ),
    )
    .expect("the bus configuration is written");
    address
}
