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
// key. It answers the last user message with a few friendly sentences that
// quote it and count the turns of the conversation, which shows that the
// whole history reaches the provider. The reply is streamed word by word
// (Words) with a 30 ms pause before each word, and reports usage as word
// counts (input: every message; output: the reply).
func Demo() func(llm.Request) Reply {
	return func(req llm.Request) Reply {
		last, fromUser, inputWords := "", 0, 0
		for _, m := range req.Messages {
			inputWords += wordCount(m.Text)
			if m.Role == llm.RoleUser {
				fromUser++
				last = m.Text
			}
		}
		var b strings.Builder
		if q := quote(last); q == "" {
			b.WriteString("Hello! I am the chatbox demo model. ")
		} else {
			fmt.Fprintf(&b, "You wrote: “%s” ", q)
		}
		fmt.Fprintf(&b, "Our conversation has %s so far, %s from you, so the whole history reaches me. ",
			plural(len(req.Messages), "message"), plural(fromUser, "message"))
		b.WriteString("I am a scripted model that streams its answer word by word; " +
			"plug in a real provider to get real answers.")
		words := Words(b.String())
		return Reply{
			Deltas: words,
			Delay:  demoDelay,
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
