"""Record the screen with a replay buffer; press Enter to save the last 30 seconds, q to stop.

    python record_replay.py [SOURCE] [OUTPUT]    # defaults: screen recording.mkv

SOURCE is "screen" (wlroots screencopy, else the desktop portal), "wayland:DP-1",
"pipewire:NODE", "portal" or "testsrc". The full recording goes to OUTPUT; each save writes a
new file in ~/Videos and prints its path. Events (started, replay saved, falling behind...)
are printed by a second thread as they come: the recorder's calls release the GIL.
"""

import sys
import threading

import ghoststream


def print_events(recorder):
    while True:
        event = recorder.next_event(timeout=1.0)
        if event is None:
            if recorder.stopping:
                return
            continue
        print(f"  [{event.kind}] {event!r}")
        if event.kind == "finished":
            return


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else "screen"
    output = sys.argv[2] if len(sys.argv) > 2 else "recording.mkv"
    with ghoststream.Recorder(source, output, codec="h264", replay="30s", overwrite=True) as recorder:
        watcher = threading.Thread(target=print_events, args=(recorder,), daemon=True)
        watcher.start()
        print("recording: Enter saves the last 30 s, q then Enter stops")
        for line in sys.stdin:
            if line.strip().lower() == "q":
                break
            try:
                print("saved", recorder.save_replay())
            except ghoststream.Error as e:
                print(f"not saved ({type(e).__name__}): {e}")
        summary = recorder.stop()
        watcher.join(timeout=5)
    print(f"{summary['frames']} frames, {summary['bytes']} bytes in {output}; {summary['replay_saves']} replays saved")


if __name__ == "__main__":
    main()
