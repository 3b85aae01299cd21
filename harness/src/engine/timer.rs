//! Wall-clock phase timing that is honest on CUDA: the device is synchronised before every
//! clock read, so queued kernels are charged to the phase that launched them. The
//! synchronisation can be turned off to time whole steps as an eager PyTorch loop runs them
//! (host and device overlapping); the splits then measure host time only.

use std::time::Instant;

use tch::Device;

/// Splits elapsed time into consecutive phases.
pub struct Stopwatch {
    device: Device,
    sync: bool,
    last: Instant,
}

impl Stopwatch {
    /// Starts timing work on `device`, synchronising it at every split.
    pub fn start(device: Device) -> Self {
        Self::start_with(device, true)
    }

    /// Starts timing work on `device`; `sync_splits: false` synchronises only here, so splits
    /// do not stall the device queue (and measure host time).
    pub fn start_with(device: Device, sync_splits: bool) -> Self {
        synchronize(device);
        Stopwatch {
            device,
            sync: sync_splits,
            last: Instant::now(),
        }
    }

    /// Seconds since the previous split (or the start), after synchronising the device
    /// (unless turned off).
    pub fn split(&mut self) -> f64 {
        if self.sync {
            synchronize(self.device);
        }
        let now = Instant::now();
        let seconds = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        seconds
    }
}

/// Waits for queued work on a CUDA device; a no-op on the CPU.
pub fn synchronize(device: Device) {
    if let Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}
