//! SGD with momentum, Nesterov and weight decay, with PyTorch's semantics (decay added to the
//! gradient before momentum; the first momentum buffer is the first gradient). mixbench owns
//! it rather than using tch's optimizer because tch's cannot save its momentum buffers, which
//! exact resume and checkpoints need.

use anyhow::Result;
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

    /// Zeroes every parameter's gradient.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut grad = p.grad();
            if grad.defined() {
                let _ = grad.detach_().zero_();
            }
        }
    }

    /// One update with learning rate `lr`. Parameters without a gradient are skipped.
    pub fn step(&mut self, lr: f64) {
        let SgdConfig {
            momentum,
            nesterov,
            weight_decay,
        } = self.config;
        tch::no_grad(|| {
            for (p, buf) in self.params.iter_mut().zip(self.buffers.iter_mut()) {
                let grad = p.grad();
                if !grad.defined() {
                    continue;
                }
                let mut d = if weight_decay != 0.0 {
                    &grad + &*p * weight_decay
                } else {
                    grad.copy()
                };
                if momentum != 0.0 {
                    let b = match buf {
                        Some(b) => {
                            let _ = b.g_mul_scalar_(momentum).g_add_(&d);
                            b
                        }
                        None => buf.insert(d.copy()),
                    };
                    d = if nesterov {
                        d + &*b * momentum
                    } else {
                        b.shallow_clone()
                    };
                }
                let _ = p.g_add_(&(d * -lr));
            }
        });
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

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Device, Kind};

    /// Two steps on f(w) = sum(w^2)/2 (gradient w), checked against PyTorch's update rule
    /// written out by hand: d = g + wd w; b = m b + d (b = d at first); d = d + m b; w -= lr d.
    #[test]
    fn matches_pytorch_nesterov_update() {
        let w = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let cfg = SgdConfig {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.1,
        };
        let mut sgd = Sgd::new(vec![w.shallow_clone()], cfg);
        let (lr, mut expected, mut buf) = (0.5f64, vec![1.0f64, -2.0], vec![0.0f64; 2]);
        for step in 0..2 {
            sgd.zero_grad();
            (&w * &w).sum(Kind::Float).g_mul_scalar(0.5).backward();
            sgd.step(lr);
            for i in 0..2 {
                let d = expected[i] + 0.1 * expected[i];
                buf[i] = if step == 0 { d } else { 0.9 * buf[i] + d };
                expected[i] -= lr * (d + 0.9 * buf[i]);
            }
        }
        let got = Vec::<f32>::try_from(&w.detach()).unwrap();
        for i in 0..2 {
            assert!(
                (got[i] as f64 - expected[i]).abs() < 1e-5,
                "{got:?} vs {expected:?}"
            );
        }
        assert_eq!(sgd.state().len(), 1);
        let _ = Device::Cpu;
    }
}
