package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/chatboxsdk/chatbox/llm/scripted"
)

// TestMarkdownRendererOutput runs the page's renderer in the browser on
// inputs a model may write, hostile ones included, and compares the DOM it
// builds (serialised) with what is expected.
func TestMarkdownRendererOutput(t *testing.T) {
	a := startApp(t, appConfig{Provider: scripted.New()})
	pg := openPage(t, a.URL+"/", "")
	// Load the page's own module, as the page does.
	if _, err := chromedp.Run(pg.ctx, chromedp.Evaluate[bool](`import("./markdown.js").then(m => (window.__md = m, true))`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ in, want string }{
		{"plain text", "<p>plain text</p>"},
		{"a **b** *c* _d_ ~~e~~ `f`", "<p>a <strong>b</strong> <em>c</em> <em>d</em> <del>e</del> <code>f</code></p>"},
		{"snake_case_name and 2 * 3 * 4", "<p>snake_case_name and 2 * 3 * 4</p>"},
		{"line one\nline two", "<p>line one<br>line two</p>"},
		{"# Title\n## Sub", "<h3>Title</h3><h4>Sub</h4>"},
		{"- a\n- b\n  - nested", "<ul><li>a</li><li><p>b</p><ul><li>nested</li></ul></li></ul>"},
		{"3. three\n4. four", `<ol start="3"><li>three</li><li>four</li></ol>`},
		{"> quoted *text*", "<blockquote><p>quoted <em>text</em></p></blockquote>"},
		{"```js\nlet a = \"<b>\";\n```", `<div class="code"><div class="code-bar"><span class="code-lang">js</span><button class="copy" type="button" aria-label="Copy code (js)">Copy</button></div><pre><code data-lang="js">let a = "&lt;b&gt;";</code></pre></div>`},
		{"```\nunclosed while streaming", `<div class="code"><div class="code-bar"><span class="code-lang">code</span><button class="copy" type="button" aria-label="Copy code">Copy</button></div><pre><code>unclosed while streaming</code></pre></div>`},
		{"| a | b |\n|---|:-:|\n| 1 | **2** |", `<div class="table-wrap"><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td><strong>2</strong></td></tr></tbody></table></div>`},
		{"[ok](https://example.com/a_b)", `<p><a href="https://example.com/a_b" rel="noopener noreferrer nofollow" target="_blank">ok</a></p>`},
		{"mail [me](mailto:a@example.com)", `<p>mail <a href="mailto:a@example.com" rel="noopener noreferrer nofollow" target="_blank">me</a></p>`},
		{"see https://example.com/x. Done", `<p>see <a href="https://example.com/x" rel="noopener noreferrer nofollow" target="_blank">https://example.com/x</a>. Done</p>`},
		{"[x](javascript:alert(1))", `<p><span class="link-blocked" title="link removed: only http, https and mailto links are shown">x</span></p>`},
		{"[x]( JAVASCRIPT:alert(1))", `<p><span class="link-blocked" title="link removed: only http, https and mailto links are shown">x</span></p>`},
		{"[x](java\tscript:alert(1))", "<p>[x](java\tscript:alert(1))</p>"},
		{"[x](data:text/html;base64,PHNjcmlwdD4=)", `<p><span class="link-blocked" title="link removed: only http, https and mailto links are shown">x</span></p>`},
		{"[x](//evil.example/a)", `<p><span class="link-blocked" title="link removed: only http, https and mailto links are shown">x</span></p>`},
		{"[**x**](vbscript:msgbox)", `<p><span class="link-blocked" title="link removed: only http, https and mailto links are shown"><strong>x</strong></span></p>`},
		{"<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>"},
		{`<img src=x onerror=alert(1)>`, "<p>&lt;img src=x onerror=alert(1)&gt;</p>"},
		{`<svg/onload=alert(1)>`, "<p>&lt;svg/onload=alert(1)&gt;</p>"},
		{"<scr<script>ipt>alert(1)</script>", "<p>&lt;scr&lt;script&gt;ipt&gt;alert(1)&lt;/script&gt;</p>"},
		{"`<b>code</b>`", "<p><code>&lt;b&gt;code&lt;/b&gt;</code></p>"},
		{"![img](https://example.com/x.png)", `<p>!<a href="https://example.com/x.png" rel="noopener noreferrer nofollow" target="_blank">img</a></p>`},
		{"\\*not em\\*", "<p>*not em*</p>"},
		{"&lt;b&gt; &amp;", "<p>&amp;lt;b&amp;gt; &amp;amp;</p>"},
	}
	for _, c := range cases {
		in, _ := json.Marshal(c.in)
		var got string
		pg.eval(fmt.Sprintf(`(() => { const d = document.createElement("div");
			d.append(window.__md.renderMarkdown(%s)); return d.innerHTML; })()`, in), &got)
		if got != c.want {
			t.Errorf("render %q\n got: %s\nwant: %s", c.in, got, c.want)
		}
	}
}
