//! `cv2.resize(x, (0, 0), fx=0.2, fy=0.2)` (`INTER_LINEAR`, 8-bit), the call CIFAR `frost`
//! makes on the frost pictures, against the reference's outputs (the `ops` checks of
//! `tests/fixtures/make_imagenet_c`): image 0 of the fixture (224x224) and two test pictures
//! of the frost pictures' sizes (600x900, 315x560). Each output must equal OpenCV's byte for
//! byte.

#[allow(dead_code)] // each test crate uses a part of the fixture readers
mod reference;

use mixbench_corruptions::ops::opencv::resize_linear_u8;
use reference::ops::Ops;
use reference::Fixture;

/// Lower-case hex SHA-256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn resize_linear_matches_cv2_resize() {
    let fixture = Fixture::load("make_imagenet_c");
    let ops = Ops::load("make_imagenet_c");
    assert_eq!(ops.checks.len(), 3, "the manifest's ops checks");
    for check in &ops.checks {
        assert_eq!(check.op, "cv2_resize_linear", "{}", check.input);
        let input = match check.input_block {
            Some(k) => {
                assert_eq!(check.input, format!("ops block {k}"));
                let picture = ops.block(k);
                let sha = check
                    .input_sha256
                    .as_deref()
                    .expect("a test picture's hash");
                assert_eq!(sha256_hex(&picture.data), sha, "{}", check.input);
                picture
            }
            None => {
                assert_eq!(check.input, "image 0");
                fixture.images[0].clone()
            }
        };
        assert_eq!(
            (input.height, input.width),
            (check.input_height, check.input_width),
            "{}",
            check.input
        );
        let expected = ops.block(check.output);
        assert_eq!(
            (expected.height, expected.width),
            (check.height, check.width),
            "{}: the output block's size",
            check.input
        );
        let (ours, height, width) = resize_linear_u8(
            &input.data,
            (input.height, input.width, 3),
            check.fx,
            check.fy,
        );
        assert_eq!(
            (height, width),
            (check.height, check.width),
            "{}: output size",
            check.input
        );
        let differing = ours
            .iter()
            .zip(&expected.data)
            .filter(|(a, b)| a != b)
            .count();
        assert!(
            differing == 0,
            "{} ({}x{} by {} x {}): {differing} of {} values differ from cv2.resize",
            check.input,
            check.input_height,
            check.input_width,
            check.fy,
            check.fx,
            ours.len()
        );
        eprintln!(
            "{} ({}x{}) -> {}x{}: identical",
            check.input, check.input_height, check.input_width, height, width
        );
    }
}
