//! The saliency pass: the gradient of a method's loss with respect to the input batch, with
//! the model in the mode the method names (see `docs/methods/README.md`, *Saliency passes*).

use tch::{Kind, Tensor};

use mixbench_core::{ModelMode, ParamGrads, SaliencyLoss, SaliencyRequest};

use super::loss::LossKind;
use crate::models::Classifier;

/// Runs the pass and returns the input gradient `[B, C, H, W]`.
///
/// With [`ParamGrads::Discard`] autograd is asked for the input gradient alone, so no
/// weight-gradient kernels run and parameter `.grad`s are untouched. With
/// [`ParamGrads::Keep`] an ordinary backward accumulates the (already scaled) parameter
/// gradients, which the next optimizer step then includes.
pub fn input_gradient(
    model: &dyn Classifier,
    images: &Tensor,
    labels: &Tensor,
    num_classes: i64,
    request: &SaliencyRequest,
) -> Tensor {
    let x = images.detach().set_requires_grad(true);
    let logits = model.forward_t(&x, request.mode == ModelMode::Train);
    let loss = match request.loss {
        SaliencyLoss::CrossEntropy { scale } => logits.cross_entropy_for_logits(labels) * scale,
        SaliencyLoss::CrossEntropyPerClass { scale } => {
            logits.cross_entropy_for_logits(labels) * (scale / num_classes as f64)
        }
        SaliencyLoss::BceSoftmax { scale } => {
            let targets = labels.one_hot(num_classes).to_kind(Kind::Float);
            LossKind::BceSoftmax.loss(&logits, &targets) * scale
        }
    };
    match request.param_grads {
        ParamGrads::Discard => Tensor::run_backward(&[&loss], &[&x], false, false).remove(0),
        ParamGrads::Keep => {
            loss.backward();
            x.grad()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::ModelKind;
    use tch::{nn, Device};

    fn setup() -> (nn::VarStore, Box<dyn Classifier>, Tensor, Tensor) {
        tch::manual_seed(1);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = ModelKind::SmallCnn.build(&vs.root(), 4);
        let x = Tensor::randn([3, 3, 8, 8], (Kind::Float, Device::Cpu));
        (vs, model, x, Tensor::from_slice(&[0i64, 3, 1]))
    }

    /// Discarding parameter gradients gives the same input gradient and leaves `.grad` empty.
    #[test]
    fn discard_and_keep_agree_on_the_input_gradient() {
        let (vs, model, x, y) = setup();
        let mut request = SaliencyRequest {
            mode: ModelMode::Eval,
            loss: SaliencyLoss::CrossEntropy { scale: 1.0 },
            param_grads: ParamGrads::Discard,
        };
        let g1 = input_gradient(model.as_ref(), &x, &y, 4, &request);
        assert!(vs.trainable_variables().iter().all(|p| !p.grad().defined()));
        request.param_grads = ParamGrads::Keep;
        let g2 = input_gradient(model.as_ref(), &x, &y, 4, &request);
        assert!(g1.allclose(&g2, 1e-5, 1e-7, false));
        assert!(vs.trainable_variables().iter().all(|p| p.grad().defined()));
        assert!(g1.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }

    /// The input gradient agrees with a finite difference of the loss.
    #[test]
    fn gradient_matches_finite_difference() {
        let (_vs, model, x, y) = setup();
        let x = x.to_kind(Kind::Double).to_kind(Kind::Float);
        let request = SaliencyRequest {
            mode: ModelMode::Eval,
            loss: SaliencyLoss::BceSoftmax { scale: 2.0 },
            param_grads: ParamGrads::Discard,
        };
        let g = input_gradient(model.as_ref(), &x, &y, 4, &request);
        let loss_at = |x: &Tensor| {
            let logits = model.forward_t(x, false);
            LossKind::BceSoftmax
                .loss(&logits, &y.one_hot(4).to_kind(Kind::Float))
                .double_value(&[])
                * 2.0
        };
        let eps = 1e-2;
        let idx = [1i64, 2, 3, 4];
        let bump = |d: f64| {
            let x2 = x.copy();
            let _ = x2
                .get(idx[0])
                .get(idx[1])
                .get(idx[2])
                .get(idx[3])
                .g_add_scalar_(d);
            x2
        };
        let fd = (loss_at(&bump(eps)) - loss_at(&bump(-eps))) / (2.0 * eps);
        let an = g.double_value(&idx);
        assert!(
            (fd - an).abs() < 1e-3 + 0.05 * an.abs(),
            "fd {fd} vs autograd {an}"
        );
    }
}
