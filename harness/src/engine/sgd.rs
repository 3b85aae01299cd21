//! SGD with momentum, Nesterov and weight decay, with PyTorch's semantics (decay added to the
//! gradient before momentum; the first momentum buffer is the first gradient). mixbench owns
//! it rather than using tch's optimizer because tch's cannot save its momentum buffers, which
//! exact resume and checkpoints need.
//!
//! The update is one call of ATen's fused SGD kernel over all parameters (what
//! `torch.optim.SGD(fused=True)` runs; bound in `harness/csrc/fused_sgd.cpp`): one pass over
//! parameters, gradients and buffers instead of several element-wise kernels per parameter,
//! which on the CPU is memory traffic and on CUDA is launch overhead.

use std::ffi::{c_char, c_void, CStr};

use anyhow::{bail, Result};
use tch::Tensor;

/// SGD hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Momentum factor.
    pub momentum: f64,
    /// Nesterov momentum.
    pub nesterov: bool,
    /// L2 weight decay, applied to every parameter (BN and biases included, as the reference).
    pub weight_decay: f64,
}

/// The optimizer: parameters and one momentum buffer each.
pub struct Sgd {
    config: SgdConfig,
    params: Vec<Tensor>,
    buffers: Vec<Option<Tensor>>,
}

impl Sgd {
    /// An optimizer over `params` (trainable variables).
    pub fn new(params: Vec<Tensor>, config: SgdConfig) -> Self {
        let buffers = params.iter().map(|_| None).collect();
        Sgd {
            config,
            params,
            buffers,
        }
    }

    /// Drops every parameter's gradient, as PyTorch's `zero_grad()` does by default
    /// (`set_to_none=True`): the next backward pass hands over its gradient tensors instead of
    /// adding them into zeroed storage, which saves two passes over the parameters per step.
    pub fn zero_grad(&mut self) -> Result<()> {
        let handles: Vec<*mut c_void> = self
            .params
            .iter_mut()
            .map(|p| p.as_mut_ptr().cast())
            .collect();
        // SAFETY: the handles point at the live `at::Tensor`s of `self.params`, `handles.len()`
        // of them; errors come back as a message.
        let error = unsafe { mixbench_clear_grads(handles.as_ptr(), handles.len()) };
        check(error, "clearing gradients")
    }

    /// One update with learning rate `lr`. Parameters without a gradient are skipped.
    /// Parameters updated for the first time (no buffer yet) and the others go to the fused
    /// kernel in two calls, as its first-step flag applies to a whole call.
    pub fn step(&mut self, lr: f64) -> Result<()> {
        let mut first = FusedCall::default();
        let mut later = FusedCall::default();
        for (p, buf) in self.params.iter().zip(self.buffers.iter_mut()) {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            if self.config.momentum == 0.0 {
                // Without momentum the kernel takes no buffers.
                later.push(p, grad, None);
                continue;
            }
            let call = if buf.is_none() {
                &mut first
            } else {
                &mut later
            };
            let b = buf.get_or_insert_with(|| p.zeros_like());
            call.push(p, grad, Some(b));
        }
        tch::no_grad(|| -> Result<()> {
            first.run(&self.config, lr, true)?;
            later.run(&self.config, lr, false)
        })
    }
    /// The momentum buffers as named tensors (`momentum.<index>`), for checkpoints.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        self.buffers
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                b.as_ref()
                    .map(|b| (format!("momentum.{i}"), b.shallow_clone()))
            })
            .collect()
    }

    /// Restores buffers saved by [`Sgd::state`].
    pub fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<()> {
        for (name, tensor) in state {
            let index: usize = name
                .strip_prefix("momentum.")
                .and_then(|i| i.parse().ok())
                .filter(|&i| i < self.buffers.len())
                .ok_or_else(|| anyhow::anyhow!("unexpected optimizer state entry `{name}`"))?;
            let device = self.params[index].device();
            self.buffers[index] = Some(tensor.to_device(device));
        }
        Ok(())
    }
}

/// The tensors of one fused-kernel call, as tch handles.
#[derive(Default)]
struct FusedCall {
    params: Vec<Tensor>,
    grads: Vec<Tensor>,
    buffers: Vec<Tensor>,
}

impl FusedCall {
    fn push(&mut self, param: &Tensor, grad: Tensor, buffer: Option<&Tensor>) {
        self.params.push(param.shallow_clone());
        self.grads.push(grad);
        self.buffers.extend(buffer.map(Tensor::shallow_clone));
    }

    /// Runs the kernel on the collected tensors (nothing when there are none).
    fn run(mut self, config: &SgdConfig, lr: f64, is_first_step: bool) -> Result<()> {
        if self.params.is_empty() {
            return Ok(());
        }
        let handles = |ts: &mut [Tensor]| -> Vec<*mut c_void> {
            ts.iter_mut().map(|t| t.as_mut_ptr().cast()).collect()
        };
        let (p, g, b) = (
            handles(&mut self.params),
            handles(&mut self.grads),
            handles(&mut self.buffers),
        );
        // SAFETY: the handles point at live `at::Tensor`s owned by `self` for the whole call,
        // the arrays have the lengths passed (buffers: one per parameter, or none without
        // momentum), and the kernel checks devices, dtypes and
        // sizes itself (errors come back as a message, never as an exception across the FFI).
        let error = unsafe {
            mixbench_fused_sgd(
                p.as_ptr(),
                g.as_ptr(),
                b.as_ptr(),
                p.len(),
                b.len(),
                config.weight_decay,
                config.momentum,
                lr,
                config.nesterov,
                is_first_step,
            )
        };
        check(error, "fused SGD step")
    }
}

/// `Ok` for a null result of the C++ side, otherwise its message (freed here) as an error.
fn check(error: *mut c_char, what: &str) -> Result<()> {
    if error.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null result is a NUL-terminated string from `strdup`, freed once here.
    let message = unsafe {
        let text = CStr::from_ptr(error).to_string_lossy().into_owned();
        mixbench_free_error(error);
        text
    };
    bail!("{what} failed: {message}")
}

extern "C" {
    fn mixbench_fused_sgd(
        params: *const *mut c_void,
        grads: *const *mut c_void,
        buffers: *const *mut c_void,
        n: usize,
        n_buffers: usize,
        weight_decay: f64,
        momentum: f64,
        lr: f64,
        nesterov: bool,
        is_first_step: bool,
    ) -> *mut c_char;
    fn mixbench_clear_grads(params: *const *mut c_void, n: usize) -> *mut c_char;
    fn mixbench_free_error(message: *mut c_char);
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Kind;

    /// PyTorch's update rule written out by hand, per element: d = g + wd w; b = m b + d
    /// (b = d at a parameter's first update); d = d + m b with Nesterov, d = b without; w -= lr d.
    struct Reference {
        w: Vec<f64>,
        buf: Option<Vec<f64>>,
    }

    impl Reference {
        fn step(&mut self, grad: &[f64], cfg: SgdConfig, lr: f64) {
            let d: Vec<f64> = grad
                .iter()
                .zip(&self.w)
                .map(|(g, w)| g + cfg.weight_decay * w)
                .collect();
            let update: Vec<f64> = if cfg.momentum == 0.0 {
                d
            } else {
                let buf = match self.buf.take() {
                    None => d.clone(),
                    Some(b) => b
                        .iter()
                        .zip(&d)
                        .map(|(b, d)| cfg.momentum * b + d)
                        .collect(),
                };
                let out = if cfg.nesterov {
                    d.iter()
                        .zip(&buf)
                        .map(|(d, b)| d + cfg.momentum * b)
                        .collect()
                } else {
                    buf.clone()
                };
                self.buf = Some(buf);
                out
            };
            for (w, u) in self.w.iter_mut().zip(update) {
                *w -= lr * u;
            }
        }
    }

    fn values(t: &Tensor) -> Vec<f64> {
        Vec::<f64>::try_from(t.detach().to_kind(Kind::Double)).unwrap()
    }

    /// Three steps on f(w) = sum(w^2)/2 + sum(v^3)/3 for each setting (Nesterov, plain
    /// momentum, none), with `v` receiving no gradient at the first step: every value follows
    /// the hand-written rule, including a parameter whose first update comes one step late.
    #[test]
    fn fused_kernel_follows_pytorch_update_rule() {
        let settings = [(0.9, true, 0.1), (0.9, false, 0.0), (0.0, false, 0.05)];
        for (momentum, nesterov, weight_decay) in settings {
            let cfg = SgdConfig {
                momentum,
                nesterov,
                weight_decay,
            };
            let w = Tensor::from_slice(&[1.0f32, -2.0, 0.5]).set_requires_grad(true);
            let v = Tensor::from_slice(&[0.3f32, -0.7]).set_requires_grad(true);
            let mut sgd = Sgd::new(vec![w.shallow_clone(), v.shallow_clone()], cfg);
            let mut rw = Reference {
                w: values(&w),
                buf: None,
            };
            let mut rv = Reference {
                w: values(&v),
                buf: None,
            };
            let lr = 0.5;
            for step in 0..3 {
                sgd.zero_grad().unwrap();
                let mut loss = (&w * &w).sum(Kind::Float).g_mul_scalar(0.5);
                if step > 0 {
                    loss += (&v * &v * &v).sum(Kind::Float) / 3.0;
                }
                loss.backward();
                let gw = rw.w.clone();
                sgd.step(lr).unwrap();
                rw.step(&gw, cfg, lr);
                if step > 0 {
                    let gv: Vec<f64> = rv.w.iter().map(|x| x * x).collect();
                    rv.step(&gv, cfg, lr);
                }
                for (got, want) in [(values(&w), &rw.w), (values(&v), &rv.w)] {
                    for (g, e) in got.iter().zip(want.iter()) {
                        assert!(
                            (g - e).abs() < 1e-5,
                            "{cfg:?} step {step}: {got:?} vs {want:?}"
                        );
                    }
                }
            }
            // One buffer per parameter with momentum; none without.
            assert_eq!(
                sgd.state().len(),
                if momentum > 0.0 { 2 } else { 0 },
                "{cfg:?}"
            );
        }
    }

    /// Buffers saved by `state` and loaded into a fresh optimizer continue the same trajectory.
    #[test]
    fn state_round_trips() {
        let cfg = SgdConfig {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-4,
        };
        let run = |resume: bool| {
            let w = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
            let mut sgd = Sgd::new(vec![w.shallow_clone()], cfg);
            for step in 0..4 {
                if resume && step == 2 {
                    let state = sgd.state();
                    sgd = Sgd::new(vec![w.shallow_clone()], cfg);
                    sgd.load_state(state).unwrap();
                }
                sgd.zero_grad().unwrap();
                (&w * &w).sum(Kind::Float).backward();
                sgd.step(0.1).unwrap();
            }
            values(&w)
        };
        assert_eq!(run(false), run(true));
    }
}
