//! Parity of the native fine-grained detector with OpenCV on real CIFAR-10 images.
//!
//! Fixture: `tests/fixtures/opencv_fine_grained.safetensors`, produced with
//! opencv-contrib-python-headless 5.0.0.93 (see `tests/fixtures/README.md`): 16 CIFAR-10 test
//! images as decoded `u8` RGB (`images_u8` `[16, 32, 32, 3]`), the same images normalised as
//! the SAGE repository's `load_data.py` does (`images` f32 `[16, 3, 32, 32]`), and OpenCV's
//! 8-bit maps (`computeSaliency` output times 255 cast to `u8`, as `saliency_bbox` does) for the
//! RGB bytes (`map_u8_rgb`), the BGR bytes (`map_u8_bgr`) and the normalised float image in
//! `H x W x C` order (`map_float`, exactly what the reference hands the detector).

use mixbench_core::NamedTensors;
use mixbench_saliencymix::{detector_map, fine_grained_u8, first_argmax, SaliencyInput};
use tch::{Kind, Tensor};

const MEAN: [f64; 3] = [125.3 / 255.0, 123.0 / 255.0, 113.9 / 255.0];
const STD: [f64; 3] = [63.0 / 255.0, 62.1 / 255.0, 66.7 / 255.0];

fn fixture() -> NamedTensors {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/opencv_fine_grained.safetensors"
    );
    NamedTensors::read(path).expect("fixture readable")
}

fn get(f: &NamedTensors, name: &str) -> Tensor {
    f.require(name, "a fixture tensor").unwrap()
}

fn bytes(t: &Tensor) -> Vec<u8> {
    Vec::<u8>::try_from(t.flatten(0, -1).to_kind(Kind::Uint8)).unwrap()
}

/// Largest absolute difference between two maps, in grey levels.
fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap()
}

#[test]
fn u8_rgb_and_bgr_maps_equal_opencv() {
    let f = fixture();
    let images = get(&f, "images_u8");
    let (rgb_maps, bgr_maps) = (get(&f, "map_u8_rgb"), get(&f, "map_u8_bgr"));
    for i in 0..16 {
        let rgb = bytes(&images.get(i));
        let bgr: Vec<u8> = rgb
            .chunks_exact(3)
            .flat_map(|p| [p[2], p[1], p[0]])
            .collect();
        let ours_rgb = fine_grained_u8(&rgb, 32, 32, 3);
        let ours_bgr = fine_grained_u8(&bgr, 32, 32, 3);
        // Bit-exact (the issue allows 1/255).
        assert_eq!(
            max_diff(&ours_rgb, &bytes(&rgb_maps.get(i))),
            0,
            "image {i} RGB"
        );
        assert_eq!(
            max_diff(&ours_bgr, &bytes(&bgr_maps.get(i))),
            0,
            "image {i} BGR"
        );
    }
}

#[test]
fn float_bytes_maps_equal_opencv() {
    let f = fixture();
    let images = get(&f, "images");
    let maps = get(&f, "map_float");
    for i in 0..16 {
        let ours = detector_map(&images, i, SaliencyInput::FloatBytes, &MEAN, &STD).unwrap();
        let expected = bytes(&maps.get(i));
        assert_eq!(max_diff(&ours, &expected), 0, "image {i}");
        // `docs/methods/saliencymix.md`, *Float bytes*: the float path's arg-max column is never 3 mod 4 (exponent bytes).
        assert_ne!(first_argmax(&ours, 32).1 % 4, 3, "image {i}");
    }
}

#[test]
fn u8_option_recovers_the_bytes_from_the_normalised_image() {
    // `saliency_input = u8` de-normalises (round(255 u)) and must give OpenCV's map of the
    // original RGB bytes.
    let f = fixture();
    let images = get(&f, "images");
    let maps = get(&f, "map_u8_rgb");
    for i in 0..16 {
        let ours = detector_map(&images, i, SaliencyInput::U8, &MEAN, &STD).unwrap();
        assert_eq!(ours, bytes(&maps.get(i)), "image {i}");
    }
}
