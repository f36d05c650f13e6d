//! Network stand-ins for the Redis store tests: a port nothing listens on, a
//! server that never answers, and a proxy to a real Redis that can be cut
//! and brought back on the same port.

use std::io::ErrorKind;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A loopback port that was free a moment ago (connecting is refused).
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Accepts connections on `listener` until stopped, handing each to `serve`;
/// on stop, shuts down every connection it accepted.
struct Acceptor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
}

impl Acceptor {
    fn start(
        listener: TcpListener,
        serve: impl Fn(TcpStream) -> Vec<TcpStream> + Send + 'static,
    ) -> Acceptor {
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (flag, kept) = (Arc::clone(&stop), Arc::clone(&streams));
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let more = serve(stream.try_clone().unwrap());
                        let mut kept = kept.lock().unwrap();
                        kept.push(stream);
                        kept.extend(more);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => panic!("accept: {e}"),
                }
            }
        });
        Acceptor {
            stop,
            thread: Some(thread),
            streams,
        }
    }
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

/// A server that accepts connections and never says a word.
pub struct SilentServer {
    port: u16,
    _acceptor: Acceptor,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        SilentServer {
            port,
            _acceptor: Acceptor::start(listener, |_| Vec::new()),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

/// A TCP proxy to a Redis server, on a port of its own.
pub struct Proxy {
    upstream: String,
    port: u16,
    acceptor: Option<Acceptor>,
}

impl Proxy {
    /// A proxy to the server of `url` (`redis://host:port/…`).
    pub fn start(url: &str) -> Proxy {
        let rest = url.strip_prefix("redis://").unwrap();
        let upstream = rest.split('/').next().unwrap().to_string();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut proxy = Proxy {
            upstream,
            port,
            acceptor: None,
        };
        proxy.listen(listener);
        proxy
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Closes the port and cuts every connection through the proxy.
    pub fn stop(&mut self) {
        self.acceptor = None;
    }

    /// Listens on the same port again.
    pub fn restart(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        self.listen(listener);
    }

    fn listen(&mut self, listener: TcpListener) {
        let upstream = self.upstream.clone();
        self.acceptor = Some(Acceptor::start(listener, move |client| {
            let server = TcpStream::connect(&upstream).unwrap();
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server.try_clone().unwrap(), client.try_clone().unwrap()),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(Shutdown::Both);
                });
            }
            vec![server]
        }));
    }
}
