//! A small Wayland client for the capture tests: one fullscreen xdg-shell window that shows a
//! known pattern from a `wl_shm` buffer, drawn again at whatever size the compositor
//! configures. It runs on its own thread with its own connection until dropped.

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wayland_client::protocol::{
    wl_buffer, wl_compositor, wl_registry, wl_shm, wl_shm_pool, wl_surface,
};
use wayland_client::{Connection, Dispatch, QueueHandle};
use wayland_protocols::xdg::shell::client::{xdg_surface, xdg_toplevel, xdg_wm_base};

/// The pattern: (R, G, B) at (x, y) of a `width`x`height` window.
pub type Pattern = fn(x: u32, y: u32, width: u32, height: u32) -> [u8; 3];

/// A window showing a pattern; closed on drop.
pub struct PatternWindow {
    quit: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PatternWindow {
    /// Connects to the compositor at `socket` (an absolute path) and shows `pattern`
    /// fullscreen.
    pub fn show(socket: &str, pattern: Pattern) -> Self {
        let stream = std::os::unix::net::UnixStream::connect(socket).expect("the sway socket");
        let connection = Connection::from_socket(stream).expect("a Wayland connection");
        let quit = Arc::new(AtomicBool::new(false));
        let thread = {
            let quit = Arc::clone(&quit);
            std::thread::spawn(move || run(connection, pattern, &quit))
        };
        Self {
            quit,
            thread: Some(thread),
        }
    }
}

impl Drop for PatternWindow {
    fn drop(&mut self) {
        self.quit.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[derive(Default)]
struct Client {
    compositor: Option<wl_compositor::WlCompositor>,
    shm: Option<wl_shm::WlShm>,
    wm_base: Option<xdg_wm_base::XdgWmBase>,
    /// The size the compositor asked for, not yet drawn.
    pending_size: Option<(i32, i32)>,
    configured: Option<u32>,
    closed: bool,
}

fn run(connection: Connection, pattern: Pattern, quit: &AtomicBool) {
    let mut queue = connection.new_event_queue();
    let qh = queue.handle();
    connection.display().get_registry(&qh, ());
    let mut client = Client::default();
    queue.roundtrip(&mut client).expect("the registry");
    let compositor = client.compositor.clone().expect("wl_compositor");
    let shm = client.shm.clone().expect("wl_shm");
    let wm_base = client.wm_base.clone().expect("xdg_wm_base");
    let surface = compositor.create_surface(&qh, ());
    let xdg = wm_base.get_xdg_surface(&surface, &qh, ());
    let toplevel = xdg.get_toplevel(&qh, ());
    toplevel.set_title("ghoststream pattern".into());
    toplevel.set_fullscreen(None);
    surface.commit();
    let mut buffer: Option<(wl_buffer::WlBuffer, wl_shm_pool::WlShmPool)> = None;
    while !quit.load(Ordering::Relaxed) && !client.closed {
        queue.dispatch_pending(&mut client).expect("dispatch");
        if let (Some(serial), Some((w, h))) = (client.configured.take(), client.pending_size) {
            xdg.ack_configure(serial);
            let (w, h) = if w > 0 && h > 0 { (w, h) } else { (256, 256) };
            if let Some((old, pool)) = buffer.take() {
                old.destroy();
                pool.destroy();
            }
            buffer = Some(draw(&shm, &qh, w.unsigned_abs(), h.unsigned_abs(), pattern));
            let (b, _) = buffer.as_ref().unwrap();
            surface.attach(Some(b), 0, 0);
            surface.damage_buffer(0, 0, w, h);
            surface.commit();
        }
        connection.flush().expect("flush");
        // Wait for events a little at a time, so a quit request is seen.
        if let Some(guard) = queue.prepare_read() {
            let fd = guard.connection_fd();
            let mut fds = [rustix::event::PollFd::new(
                &fd,
                rustix::event::PollFlags::IN,
            )];
            let timeout = rustix::event::Timespec {
                tv_sec: 0,
                tv_nsec: i64::try_from(Duration::from_millis(20).as_nanos()).unwrap(),
            };
            let ready = rustix::event::poll(&mut fds, Some(&timeout)).unwrap_or(0);
            if ready > 0 {
                if guard.read().is_err() {
                    return; // The compositor went away.
                }
            } else {
                drop(guard);
            }
        }
    }
    toplevel.destroy();
    xdg.destroy();
    surface.destroy();
    let _ = connection.flush();
}

/// A buffer of `w`x`h` XRGB8888 pixels holding the pattern.
fn draw(
    shm: &wl_shm::WlShm,
    qh: &QueueHandle<Client>,
    w: u32,
    h: u32,
    pattern: Pattern,
) -> (wl_buffer::WlBuffer, wl_shm_pool::WlShmPool) {
    let stride = w * 4;
    let mut pixels = Vec::with_capacity((stride * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = pattern(x, y, w, h);
            pixels.extend_from_slice(&[b, g, r, 0xff]);
        }
    }
    let file = tempfile::tempfile().expect("a buffer file");
    std::io::Write::write_all(&mut &file, &pixels).expect("the pattern written");
    let pool = shm.create_pool(file.as_fd(), i32::try_from(pixels.len()).unwrap(), qh, ());
    let buffer = pool.create_buffer(
        0,
        i32::try_from(w).unwrap(),
        i32::try_from(h).unwrap(),
        i32::try_from(stride).unwrap(),
        wl_shm::Format::Xrgb8888,
        qh,
        (),
    );
    (buffer, pool)
}

impl Dispatch<wl_registry::WlRegistry, ()> for Client {
    fn event(
        state: &mut Self,
        registry: &wl_registry::WlRegistry,
        event: wl_registry::Event,
        _: &(),
        _: &Connection,
        qh: &QueueHandle<Self>,
    ) {
        if let wl_registry::Event::Global {
            name, interface, ..
        } = event
        {
            match interface.as_str() {
                "wl_compositor" => state.compositor = Some(registry.bind(name, 4, qh, ())),
                "wl_shm" => state.shm = Some(registry.bind(name, 1, qh, ())),
                "xdg_wm_base" => state.wm_base = Some(registry.bind(name, 1, qh, ())),
                _ => {}
            }
        }
    }
}

impl Dispatch<xdg_wm_base::XdgWmBase, ()> for Client {
    fn event(
        _: &mut Self,
        wm_base: &xdg_wm_base::XdgWmBase,
        event: xdg_wm_base::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_wm_base::Event::Ping { serial } = event {
            wm_base.pong(serial);
        }
    }
}

impl Dispatch<xdg_surface::XdgSurface, ()> for Client {
    fn event(
        state: &mut Self,
        _: &xdg_surface::XdgSurface,
        event: xdg_surface::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        if let xdg_surface::Event::Configure { serial } = event {
            state.configured = Some(serial);
            state.pending_size.get_or_insert((0, 0));
        }
    }
}

impl Dispatch<xdg_toplevel::XdgToplevel, ()> for Client {
    fn event(
        state: &mut Self,
        _: &xdg_toplevel::XdgToplevel,
        event: xdg_toplevel::Event,
        _: &(),
        _: &Connection,
        _: &QueueHandle<Self>,
    ) {
        match event {
            xdg_toplevel::Event::Configure { width, height, .. } => {
                state.pending_size = Some((width, height));
            }
            xdg_toplevel::Event::Close => state.closed = true,
            _ => {}
        }
    }
}

/// Objects whose events the client ignores.
macro_rules! ignore_events {
    ($($t:ty),*) => {$(
        impl Dispatch<$t, ()> for Client {
            fn event(
                _: &mut Self,
                _: &$t,
                _: <$t as wayland_client::Proxy>::Event,
                _: &(),
                _: &Connection,
                _: &QueueHandle<Self>,
            ) {
            }
        }
    )*};
}

ignore_events!(
    wl_compositor::WlCompositor,
    wl_shm::WlShm,
    wl_shm_pool::WlShmPool,
    wl_buffer::WlBuffer,
    wl_surface::WlSurface
);
