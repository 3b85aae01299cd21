//! What a few-shot evaluation leaves in a cell folder: one [`FewShotRow`] per `(N, K)` in
//! `fewshot.csv` and one [`EpisodeRow`] per episode in `fewshot-episodes.csv`.

use serde::{Deserialize, Serialize};

/// File name of a cell's few-shot results.
pub const CELL_CSV: &str = "fewshot.csv";
/// File name of a cell's per-episode accuracies.
pub const CELL_EPISODES_CSV: &str = "fewshot-episodes.csv";

/// Few-shot accuracy of a cell for one `(N, K)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FewShotRow {
    /// Classes per episode, N.
    pub ways: usize,
    /// Support images per class, K.
    pub shots: usize,
    /// Query images per class.
    pub queries: usize,
    /// Episodes.
    pub episodes: usize,
    /// Mean query accuracy over episodes, percent.
    pub mean: f64,
    /// 95% confidence half-width, `1.96 * s / sqrt(episodes)`, percent.
    pub ci95: f64,
    /// Sample standard deviation of the episode accuracies, percent.
    pub std: f64,
    /// Episodes whose logistic regression did not meet the gradient test within `max_iter`.
    pub unconverged: usize,
    /// Wall seconds (fits and scoring; features are extracted once per cell).
    pub seconds: f64,
}

/// Accuracy of one episode.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpisodeRow {
    /// Classes per episode, N.
    pub ways: usize,
    /// Support images per class, K.
    pub shots: usize,
    /// Episode index, from 0.
    pub episode: usize,
    /// Query accuracy, percent.
    pub accuracy: f64,
}
