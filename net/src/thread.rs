//! A thread that serves until it is dropped: its loop watches a stop flag (between
//! receives that time out), and dropping it sets the flag and waits for the thread, so
//! what it bound (a socket's address) is free again on return.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// A serving thread, stopped and joined when dropped.
#[derive(Debug)]
pub struct ServingThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What a serving thread's loop looks at: whether it should stop.
#[derive(Debug, Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// Whether the thread should return.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl ServingThread {
    /// Runs `serve` on a thread named `name`; it should return once its flag is set.
    pub fn spawn(
        name: String,
        serve: impl FnOnce(StopFlag) + Send + 'static,
    ) -> std::io::Result<ServingThread> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = StopFlag(stop.clone());
        let thread = std::thread::Builder::new()
            .name(name)
            .spawn(move || serve(flag))?;
        Ok(ServingThread {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ServingThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_thread_stops_and_joins_it() {
        let done = Arc::new(AtomicBool::new(false));
        let seen = done.clone();
        let t = ServingThread::spawn("test".into(), move |stop| {
            while !stop.is_set() {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            seen.store(true, Ordering::Relaxed);
        })
        .unwrap();
        drop(t);
        assert!(done.load(Ordering::Relaxed), "joined after it returned");
    }
}
