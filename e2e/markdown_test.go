package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
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
		{"```js\nlet a = \"<b>\";\n```", `<div class="code"><div class="code-bar"><span class="code-lang">js</span><button class="copy" type="button" aria-label="Copy code (js)">Copy</button></div><pre tabindex="0"><code data-lang="js">let a = "&lt;b&gt;";</code></pre></div>`},
		{"```\nunclosed while streaming", `<div class="code"><div class="code-bar"><span class="code-lang">code</span><button class="copy" type="button" aria-label="Copy code">Copy</button></div><pre tabindex="0"><code>unclosed while streaming</code></pre></div>`},
		{"| a | b |\n|---|:-:|\n| 1 | **2** |", `<div class="table-wrap" tabindex="0"><table><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td><strong>2</strong></td></tr></tbody></table></div>`},
		{"[ok](https://example.com/a_b)", `<p><a href="https://example.com/a_b" rel="noopener noreferrer nofollow" target="_blank">ok</a> <span class="link-host">example.com</span></p>`},
		{"mail [me](mailto:a@example.com)", `<p>mail <a href="mailto:a@example.com" rel="noopener noreferrer nofollow" target="_blank">me</a> <span class="link-host">a@example.com</span></p>`},
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
		{"![img](https://example.com/x.png)", `<p>!<a href="https://example.com/x.png" rel="noopener noreferrer nofollow" target="_blank">img</a> <span class="link-host">example.com</span></p>`},
		{"[https://a.example/](https://b.example/)", `<p><a href="https://b.example/" rel="noopener noreferrer nofollow" target="_blank">https://a.example/</a> <span class="link-host">b.example</span></p>`},
		{"[example.com](https://example.com/)", `<p><a href="https://example.com/" rel="noopener noreferrer nofollow" target="_blank">example.com</a></p>`},
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

	// Inputs that took the previous renderer from half a second to
	// several seconds, rendered into the browser's DOM. The budget is
	// 20 ms; the bound is loose for a busy shared machine, where quadratic
	// time still fails it. The parse alone is timed too, to tell the
	// parser's share of the time from the DOM's.
	var times struct{ Render, Parse map[string]float64 }
	part := "## Part\n\nSome **bold** and *em* with `code` and [a link](https://example.com/) and https://example.org/p.\n\n" +
		"- one\n- two\n  - nested *item*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```go\nfmt.Println(1)\n```\n\n> a quote\n\n"
	inputs, _ := json.Marshal(map[string]string{
		"20,000 [":                        strings.Repeat("[", 20000),
		"*a × 7,000":                      strings.Repeat("*a ", 7000),
		"table separator + 20,000 spaces": "| a | b |\n|---" + strings.Repeat(" ", 20000) + "x",
		"200 KB reply":                    strings.Repeat(part, 200<<10/len(part)+1),
	})
	pg.eval(`(() => { const out = {render: {}, parse: {}};
		const best = (f) => { f(); let ms = Infinity; for (let i = 0; i < 3; i++) { const t0 = performance.now(); f(); ms = Math.min(ms, performance.now() - t0); } return Math.round(ms * 100) / 100; };
		for (const [k, v] of Object.entries(`+string(inputs)+`)) {
			out.render[k] = best(() => document.createElement("div").append(window.__md.renderMarkdown(v)));
			out.parse[k] = best(() => window.__md.parseMarkdown(v));
		}
		return out; })()`, &times)
	t.Logf("render times in chromium (ms, best of 3): %v", times.Render)
	t.Logf("of which parsing (ms, best of 3): %v", times.Parse)
	for _, k := range []string{"20,000 [", "*a × 7,000", "table separator + 20,000 spaces"} {
		if times.Render[k] > 150 {
			t.Errorf("%s took %.1f ms to render (budget 20 ms)", k, times.Render[k])
		}
	}
	if ms := times.Render["200 KB reply"]; ms > 1500 {
		t.Errorf("a 200 KB reply took %.1f ms to render", ms)
	}
}
