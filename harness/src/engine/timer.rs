//! Wall-clock phase timing that is honest on CUDA: the device is synchronised before every
//! clock read, so queued kernels are charged to the phase that launched them.

use std::time::Instant;

use tch::Device;

/// Splits elapsed time into consecutive phases.
pub struct Stopwatch {
    device: Device,
    last: Instant,
}

impl Stopwatch {
    /// Starts timing work on `device`.
    pub fn start(device: Device) -> Self {
        synchronize(device);
        Stopwatch {
            device,
            last: Instant::now(),
        }
    }

    /// Seconds since the previous split (or the start), after synchronising the device.
    pub fn split(&mut self) -> f64 {
        synchronize(self.device);
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
