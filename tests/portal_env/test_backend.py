#!/usr/bin/python3
"""A ScreenCast backend for the portal tests: it stands where xdg-desktop-portal-wlr (or -gnome,
-kde) stands, behind the real xdg-desktop-portal frontend, and grants one PipeWire node that the
test publishes. It is the compositor-specific half of the portal, replaced because the wlr
backend cannot start a cast on a GPU-less compositor (docs/HARDWARE.md says why).

It keeps restore grants the way a real backend does: `Start` returns `restore_data` when the
client asked to persist; a later `SelectSources` that brings that data back is not "asked"
again. Every call is logged as one JSON line so the test can check what reached the backend.

Usage: test_backend.py NODE_ID MODE LOG
  MODE grant:  Start grants NODE_ID.
  MODE cancel: Start answers 1 (the user cancelled).
  MODE hang:   Start never answers (a dialog nobody answers).
"""
import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

IMPL = "org.freedesktop.impl.portal.ScreenCast"
SESSION = "org.freedesktop.impl.portal.Session"
PROPS = "org.freedesktop.DBus.Properties"
GRANT = "ghoststream-test-grant"

node_id, mode, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
log = open(log_path, "a", buffering=1)


def record(**event):
    log.write(json.dumps(event) + "\n")


def plain(value):
    """D-Bus values as JSON-friendly Python values."""
    if isinstance(value, (dbus.Struct, dbus.Array, tuple, list)):
        return [plain(v) for v in value]
    if isinstance(value, dbus.Dictionary):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (dbus.String, dbus.ObjectPath)):
        return str(value)
    if isinstance(value, dbus.Boolean):
        return bool(value)
    return int(value) if isinstance(value, (int,)) else str(value)


class Session(dbus.service.Object):
    def __init__(self, path):
        super().__init__(bus, path)
        self.persist = 0
        self.restored = False

    @dbus.service.method(SESSION, in_signature="", out_signature="")
    def Close(self):
        record(call="Close")
        self.remove_from_connection()


sessions = {}


class ScreenCast(dbus.service.Object):
    @dbus.service.method(IMPL, in_signature="oosa{sv}", out_signature="ua{sv}")
    def CreateSession(self, handle, session, app_id, options):
        record(call="CreateSession", options=plain(options))
        sessions[str(session)] = Session(session)
        return (0, {})

    @dbus.service.method(IMPL, in_signature="oosa{sv}", out_signature="ua{sv}")
    def SelectSources(self, handle, session, app_id, options):
        record(call="SelectSources", options=plain(options))
        s = sessions[str(session)]
        s.persist = int(options.get("persist_mode", 0))
        data = options.get("restore_data")
        s.restored = data is not None and str(data[0]) == GRANT
        return (0, {})

    @dbus.service.method(IMPL, in_signature="oossa{sv}", out_signature="ua{sv}",
                         async_callbacks=("reply", "error"))
    def Start(self, handle, session, app_id, parent, options, reply, error):
        s = sessions[str(session)]
        # Without a restored grant a real backend shows its chooser here.
        record(call="Start", prompted=not s.restored, mode=mode)
        if mode == "hang":
            return
        if mode == "cancel":
            reply(dbus.UInt32(1), dbus.Dictionary({}, signature="sv"))
            return
        stream = dbus.Struct((dbus.UInt32(node_id), dbus.Dictionary({
            "size": dbus.Struct((dbus.Int32(320), dbus.Int32(180))),
            "position": dbus.Struct((dbus.Int32(0), dbus.Int32(0))),
            "source_type": dbus.UInt32(1),
        }, signature="sv")))
        results = {"streams": dbus.Array([stream], signature="(ua{sv})")}
        if s.persist:
            results["persist_mode"] = dbus.UInt32(s.persist)
            results["restore_data"] = dbus.Struct(
                (GRANT, dbus.UInt32(1), dbus.String(str(node_id), variant_level=1)),
                signature="suv")
        reply(dbus.UInt32(0), dbus.Dictionary(results, signature="sv"))

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, interface, name):
        return self.GetAll(interface)[name]

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, interface):
        return {"AvailableSourceTypes": dbus.UInt32(1),
                "AvailableCursorModes": dbus.UInt32(3),
                "version": dbus.UInt32(4)}


ScreenCast(bus, "/org/freedesktop/portal/desktop")
name = dbus.service.BusName("org.freedesktop.impl.portal.desktop.ghoststreamtest", bus)
record(call="ready")
GLib.MainLoop().run()
