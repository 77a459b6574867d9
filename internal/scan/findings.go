package scan

import (
	"fmt"
	"sort"
)

// maxFindingsPerRule bounds how many findings of one rule a check records
// for one file; a hostile file could otherwise produce millions. The
// verdict still counts every one, and a summary says how many were left
// out.
const maxFindingsPerRule = 20

// findingSink records a check's findings on a FileResult, capped per rule.
type findingSink struct {
	res    *FileResult
	counts map[string]int
	worst  map[string]Safety
}

func newFindingSink(res *FileResult) *findingSink {
	return &findingSink{res: res, counts: map[string]int{}, worst: map[string]Safety{}}
}

// add records f, or only counts it once its rule has maxFindingsPerRule.
func (s *findingSink) add(f Finding) {
	n := s.counts[f.Rule]
	s.counts[f.Rule] = n + 1
	s.worst[f.Rule] = Max(s.worst[f.Rule], f.Severity)
	if n < maxFindingsPerRule {
		s.res.Add(f)
		return
	}
	s.res.Verdict = Max(s.res.Verdict, f.Severity)
}

// addf records a finding built from a format string.
func (s *findingSink) addf(rule string, sev Safety, loc, format string, args ...any) {
	s.add(Finding{Rule: rule, Severity: sev, Location: loc, Message: fmt.Sprintf(format, args...)})
}

// total is how many findings were added, recorded or not.
func (s *findingSink) total() int {
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// flush adds one summary finding per rule that went over the cap.
func (s *findingSink) flush() {
	rules := make([]string, 0, len(s.counts))
	for r, n := range s.counts {
		if n > maxFindingsPerRule {
			rules = append(rules, r)
		}
	}
	sort.Strings(rules)
	for _, r := range rules {
		s.res.Add(Finding{Rule: r, Severity: s.worst[r],
			Message: fmt.Sprintf("%d more %s findings not listed", s.counts[r]-maxFindingsPerRule, r)})
	}
}
