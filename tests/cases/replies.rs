//! The visible text of HTML error pages: bounded, linear, and never a panic.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use pypublish::http::Reply;
use pypublish::response::*;

fn html(body: &str) -> Option<String> {
    let headers = [("Content-Type".to_string(), "text/html".to_string())];
    server_message(&Reply { status: 400, headers: headers.to_vec(), body: body.as_bytes().to_vec(), ..Reply::default() }, "text/html")
}

#[test]
fn an_ampersand_before_a_multibyte_character_does_not_panic() {
    assert_eq!(html("<html><body>&aaaaaaaaaa€</body></html>").as_deref(), Some("&aaaaaaaaaa€"));
    assert_eq!(html("<body>&€€€€;</body>").as_deref(), Some("&€€€€;"));
    assert_eq!(decode_entities("a&é"), "a&é");
}

#[test]
fn character_references_are_decoded() {
    assert_eq!(decode_entities("&lt;a&gt; &amp;amp; &#233;&#xE9;&#X41; &bogus; &#xD800; &"), "<a> &amp; ééA &bogus; &#xD800; &");
}

#[test]
fn a_megabyte_html_reply_is_reduced_to_a_bounded_message() {
    let page = format!("<html><title>Bad</title><body>{}</body></html>", "<b>&amp; x</b>\n&".repeat(70_000));
    let msg = html(&page).unwrap();
    assert!(msg.starts_with("Bad: & x & & x"), "{}", &msg[..40]);
    assert!(msg.chars().count() <= MAX_MESSAGE + 1, "{}", msg.len());
    let unclosed = format!("<body>{}", "<".repeat(1 << 20));
    assert_eq!(html(&unclosed), None);
}

#[test]
fn pre_sections_and_titles_are_preferred_as_before() {
    assert_eq!(html("<title>T</title><body><pre>the words</pre></body>").as_deref(), Some("the words"));
    assert_eq!(html("<title>Err</title><body>Err happened</body>").as_deref(), Some("Err happened"));
    assert_eq!(html("<title>Err</title><body>other</body>").as_deref(), Some("Err: other"));
}

#[test]
fn script_and_style_contents_are_not_the_server_s_words() {
    let page = "<html><head><style>body{color:red}</style><script>alert(1)</script></head><body><p>We could not process your request.</p><SCRIPT type=x>var a = '<b>';</SCRIPT></body></html>";
    assert_eq!(html(page).as_deref(), Some("We could not process your request."));
}
