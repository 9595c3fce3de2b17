//! The committed GPT-2 tokenizer against tiktoken-rs's r50k_base (GPT-2's
//! encoding), an independent implementation: same ids, same counts.

use std::path::Path;

use compute::tokenizer::Gpt2Tokenizer;

#[test]
fn committed_tokenizer_matches_tiktoken_gpt2() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets/tokenizer/gpt2.json");
    let ours = Gpt2Tokenizer::from_json(&std::fs::read(path).unwrap()).unwrap();
    let reference = tiktoken_rs::r50k_base().unwrap();
    let texts = [
        "The quick brown fox jumps over the lazy dog.",
        "Hello world",
        "  leading spaces, trailing space ",
        "KV caches grow by 2·n_h·d_h·l elements per token — naïve café déjà vu 🚀",
        "def f(x):\n    return x ** 2  # squares\n\n",
        "1234567890 3.14159 -42 1e-9",
        "",
    ];
    for text in texts {
        let want: Vec<u32> = reference.encode_ordinary(text);
        assert_eq!(ours.encode(text).unwrap(), want, "{text:?}");
    }
    assert_eq!(
        ours.count("The quick brown fox jumps over the lazy dog.")
            .unwrap(),
        10
    );
    assert!(Gpt2Tokenizer::from_json(b"{not json").is_err());
}
