package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
)

// aggFixture records what the Aggregate data set holds, so the expected
// figures of any range can be computed.
type aggFixture struct {
	convs []aggConv
	msgs  []aggMsg
	help  []int // times (ms) of the help requests
}

type aggConv struct {
	created  int
	assisted bool
}

type aggMsg struct {
	created  int
	usage    storage.Usage
	response int // ms; -1 when the message did not complete from streaming
}

// expect returns the figures of [from, before), in ms from at(0); nil
// bounds are open.
func (f *aggFixture) expect(from, before *int) storage.Aggregate {
	in := func(ms int) bool { return (from == nil || ms >= *from) && (before == nil || ms < *before) }
	var a storage.Aggregate
	for _, c := range f.convs {
		if in(c.created) {
			a.Conversations++
			if c.assisted {
				a.OperatorAssisted++
			}
		}
	}
	var times []time.Duration
	for _, m := range f.msgs {
		if in(m.created) {
			a.Messages++
			a.Usage.InputTokens += m.usage.InputTokens
			a.Usage.OutputTokens += m.usage.OutputTokens
			a.Usage.CachedInputTokens += m.usage.CachedInputTokens
			a.Usage.ReasoningTokens += m.usage.ReasoningTokens
			if m.response >= 0 {
				times = append(times, time.Duration(m.response)*time.Millisecond)
			}
		}
	}
	for _, h := range f.help {
		if in(h) {
			a.HelpRequests++
		}
	}
	slices.Sort(times)
	a.Responses = int64(len(times))
	if a.Responses > 0 {
		a.ResponseTimeP50 = times[storage.PercentileRank(a.Responses, 50)-1]
		a.ResponseTimeP90 = times[storage.PercentileRank(a.Responses, 90)-1]
		a.ResponseTimeP99 = times[storage.PercentileRank(a.Responses, 99)-1]
	}
	return a
}

// newAggFixture writes the data set: conversations created before, at the
// start of, inside, at the end of and after the range [at(1000),
// at(2000)); messages of every role in and out of it, in conversations
// created in and out of it; replies completed in and out of it, one
// created inside and completed after, one still streaming, one appended
// complete; help requests and other audit entries in and out of it.
func newAggFixture(t *testing.T, st storage.Store) *aggFixture {
	t.Helper()
	f := &aggFixture{}
	addConv := func(id string, created int) {
		mustCreate(t, st, conv(id, "alice", created))
		f.convs = append(f.convs, aggConv{created: created})
	}
	add := func(convIdx int, m storage.Message) {
		mustAppend(t, st, m)
		f.msgs = append(f.msgs, aggMsg{created: int(m.CreatedAt.Sub(at(0)) / time.Millisecond), usage: m.Usage, response: -1})
		if m.Role == storage.RoleOperator {
			f.convs[convIdx].assisted = true
		}
	}
	// answer appends a streaming reply created at ms and, unless rt < 0,
	// completes it rt ms later; its final usage is (in, out), in/4 of the
	// input cached and out/2 of the output reasoning.
	answer := func(convIdx int, convID, id string, ms, rt int, in, out int64) {
		r := streaming(convID, id, ms, in/2, 0)
		add(convIdx, r)
		if rt < 0 {
			return
		}
		done := completed(r, ms+rt, in, out)
		done.Usage.CachedInputTokens, done.Usage.ReasoningTokens = in/4, out/2
		mustUpdate(t, st, done)
		last := &f.msgs[len(f.msgs)-1]
		last.usage, last.response = done.Usage, rt
	}
	operatorMsg := func(convID, id string, ms int) storage.Message {
		m := msg(convID, id, ms)
		m.Role = storage.RoleOperator
		return m
	}

	addConv("before", 500)
	add(0, msg("before", "q", 600))
	answer(0, "before", "r-old", 700, 200, 11, 1)
	add(0, operatorMsg("before", "o", 1200))
	answer(0, "before", "r-in", 1300, 700, 13, 3)

	addConv("at-from", 1000)
	add(1, msg("at-from", "q", 1000))
	add(1, operatorMsg("at-from", "o", 1100))
	answer(1, "at-from", "r", 1150, 100, 17, 7)

	addConv("inside", 1500)
	for k, rt := range []int{1300, 300, 900, 50, 1100, 500, 200, 1500, 400, 800} {
		add(2, msg("inside", fmt.Sprintf("q-%d", k), 1500+k*40))
		answer(2, "inside", fmt.Sprintf("r-%d", k), 1500+k*40+1, rt, int64(20+k), int64(k))
	}
	answer(2, "inside", "r-streaming", 1950, -1, 40, 0) // counts as a message, its usage too, not as a response
	complete := reply("inside", "r-complete", 1960)     // appended complete: not a response
	complete.Usage = storage.Usage{InputTokens: 3, OutputTokens: 2, CachedInputTokens: 1, ReasoningTokens: 1}
	add(2, complete)

	addConv("at-before", 2000)
	answer(3, "at-before", "r-late", 1990, 600, 5, 5) // created in the range, completed after it
	add(3, operatorMsg("at-before", "o", 2000))

	addConv("after", 2500)
	add(4, msg("after", "q", 2600))
	answer(4, "after", "r", 2601, 99_000, 1000, 1000)

	for i, ms := range []int{999, 1000, 1500, 1999, 2000} {
		mustAudit(t, st, entry(fmt.Sprintf("help-%d", i), ms, "alice", storage.AuditHelpRequest, "inside"))
		f.help = append(f.help, ms)
	}
	mustAudit(t, st, entry("takeover", 1500, "op-1", storage.AuditTakeover, "inside"),
		entry("release", 1600, "op-1", storage.AuditRelease, "inside"))
	return f
}

func (s suite) testAggregate(t *testing.T) {
	t.Run("EmptyStoreGivesZeros", func(t *testing.T) {
		st := s.store(t)
		got, err := st.Aggregate(t.Context(), storage.AggregateQuery{})
		if err != nil || got != (storage.Aggregate{}) {
			t.Errorf("Aggregate of an empty store = %+v, %v; want zeros", got, err)
		}
	})

	t.Run("FiguresOfARange", func(t *testing.T) {
		st := s.store(t)
		f := newAggFixture(t, st)
		got, err := st.Aggregate(t.Context(), storage.AggregateQuery{From: at(1000), Before: at(2000)})
		if err != nil {
			t.Fatal(err)
		}
		// The figures of the range, spelled out once.
		ms := time.Millisecond
		want := storage.Aggregate{
			Conversations:    2,
			OperatorAssisted: 1,
			Messages:         2 + 3 + 22 + 1, // by conversation: before, at-from, inside, at-before
			Usage: storage.Usage{InputTokens: 13 + 17 + 245 + 20 + 3 + 5, OutputTokens: 3 + 7 + 45 + 0 + 2 + 5,
				CachedInputTokens: 3 + 4 + 58 + 0 + 1 + 1, ReasoningTokens: 1 + 3 + 20 + 0 + 1 + 2},
			Responses:       13,
			ResponseTimeP50: 600 * ms, // 7th of 50 100 200 300 400 500 600 700 800 900 1100 1300 1500
			ResponseTimeP90: 1300 * ms,
			ResponseTimeP99: 1500 * ms,
			HelpRequests:    3,
		}
		if got != want {
			t.Errorf("Aggregate[at(1000), at(2000)):\n got %+v\nwant %+v", got, want)
		}
		if model := f.expect(ptr(1000), ptr(2000)); model != want {
			t.Fatalf("the test's model disagrees with its own figures:\n model %+v\n  want %+v", model, want)
		}
	})

	t.Run("OpenAndEmptyRanges", func(t *testing.T) {
		st := s.store(t)
		f := newAggFixture(t, st)
		for _, r := range []struct{ from, before *int }{
			{nil, nil}, {nil, ptr(2000)}, {ptr(1000), nil}, {ptr(1001), ptr(1999)}, {ptr(0), ptr(1000)},
			{ptr(1500), ptr(1500)}, {ptr(5000), ptr(6000)}, {ptr(2000), ptr(1000)},
		} {
			q := storage.AggregateQuery{}
			name := "["
			if r.from != nil {
				q.From = at(*r.from)
				name += ms(q.From)
			}
			name += ", "
			if r.before != nil {
				q.Before = at(*r.before)
				name += ms(q.Before)
			}
			name += ")"
			got, err := st.Aggregate(t.Context(), q)
			if err != nil {
				t.Fatalf("Aggregate%s: %v", name, err)
			}
			if want := f.expect(r.from, r.before); got != want {
				t.Errorf("Aggregate%s:\n got %+v\nwant %+v", name, got, want)
			}
		}
	})
}
