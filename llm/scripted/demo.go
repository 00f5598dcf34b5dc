package scripted

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatboxsdk/chatbox/llm"
)

// demoDelay is the pause before each word of a Demo reply.
const demoDelay = 30 * time.Millisecond

// demoQuoteRunes bounds how much of the user's message a Demo reply quotes.
const demoQuoteRunes = 120

// Demo returns a responder (see WithResponder) for demos that need no API
// key. It answers the last user message in Markdown, as models do: a
// sentence that quotes it, a list, a table that counts the turns of the
// conversation (which shows that the whole history reaches the provider)
// and a code block; when the message has attachments, it names each with
// its media type and size. The reply is streamed word by word (Words) with a 30 ms
// pause before each word, and reports usage as word counts (input: the
// text and tool results of every message; output: the reply and its
// reasoning). DemoWithDelay sets another pause.
//
// The demo also calls tools, when the request declares them:
//   - when the user asks for a refund and DemoRefundTool is declared, it
//     reasons briefly, says so and calls DemoRefundTool with
//     {"order_id":"1234"} for the order number in the message ("#1234",
//     or the first number of three digits or more); without a number it
//     asks for one;
//   - otherwise, when the user asks about an order ("order" and its
//     number) and DemoLookupTool is declared, it does the same with
//     DemoLookupTool;
//   - when the history ends with tool results (a tool turn), it answers
//     from them: each result quoted under a line that says which order it
//     is about and whether the tool failed, and no further call.
//
// Its calls leave the id empty for the Provider to fill in ("call_<n>"),
// and finish with llm.FinishToolCalls.
func Demo() func(llm.Request) Reply { return DemoWithDelay(demoDelay) }

// DemoWithDelay is Demo with the given pause before each word: a slow
// reply leaves time to stop it, or to reload the page while it streams.
func DemoWithDelay(delay time.Duration) func(llm.Request) Reply {
	return func(req llm.Request) Reply {
		last, fromUser, inputWords := "", 0, 0
		var attached []string // the files of the last user message
		for _, m := range req.Messages {
			inputWords += wordCount(llm.MessageText(m))
			for _, p := range m.Parts {
				if p.Kind == llm.PartToolResult {
					inputWords += wordCount(p.Text)
				}
			}
			if m.Role == llm.RoleUser {
				fromUser++
				last = llm.MessageText(m)
				attached = attached[:0]
				for _, p := range m.Parts {
					if p.Kind == llm.PartFile && p.File != nil {
						attached = append(attached, fmt.Sprintf("“%s” (%s, %s)", quote(p.File.Name), p.File.MediaType, plural(len(p.File.Data), "byte")))
					}
				}
			}
		}
		if r, ok := demoToolStep(req, delay, inputWords); ok {
			return r
		}
		var b strings.Builder
		if q := quote(last); q == "" {
			b.WriteString("Hello! I am the chatbox demo model.\n\n")
		} else {
			fmt.Fprintf(&b, "You wrote: “%s”\n\n", q)
		}
		if len(attached) > 0 {
			fmt.Fprintf(&b, "You attached %s: %s.\n\n", plural(len(attached), "file"), strings.Join(attached, ", "))
		}
		fmt.Fprintf(&b, "Our conversation has %s so far, %s from you, so the whole history reaches me.\n\n",
			plural(len(req.Messages), "message"), plural(fromUser, "message"))
		b.WriteString("What this demo shows:\n\n" +
			"- the answer **streams** word by word, and *Stop* ends it;\n" +
			"- every turn of the conversation reaches the model;\n" +
			"- Markdown is drawn safely: lists, `code`, tables.\n\n")
		fmt.Fprintf(&b, "| Turns | Count |\n|---|---|\n| all messages | %d |\n| yours | %d |\n| words so far | %d |\n\n",
			len(req.Messages), fromUser, inputWords)
		b.WriteString("I am a scripted model; plug in a real provider to get real answers:\n\n" +
			"```go\nsrv, err := chatbox.New(chatbox.WithLLM(provider), chatbox.WithAuthenticator(authn))\n```")
		words := Words(b.String())
		return Reply{
			Deltas: words,
			Delay:  delay,
			Usage:  llm.Usage{InputTokens: int64(inputWords), OutputTokens: int64(len(words))},
		}
	}
}

// quote collapses white space in s and shortens it to demoQuoteRunes.
func quote(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= demoQuoteRunes {
		return s
	}
	r := []rune(s)
	return string(r[:demoQuoteRunes]) + "…"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
