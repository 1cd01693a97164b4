package ui

import (
	"fmt"

	"github.com/hookflow/hookflow/ui/views"
)

// Layout of the flow map: one row per node, nested lists indented.
const (
	mapRow    = 34
	mapBox    = 26
	mapIndent = 18
	mapWidth  = 240
)

// flowMap lays out the editor's trigger and steps as a small graph: each
// node links to its card; the last run's failed and skipped steps are coloured.
func flowMap(t views.TriggerView, steps views.StepList) views.FlowMap {
	m := views.FlowMap{Width: mapWidth}
	add := func(n views.MapNode) int {
		n.Y = len(m.Nodes) * mapRow
		n.H = mapBox
		n.W = mapWidth - n.X - 2
		m.Nodes = append(m.Nodes, n)
		return len(m.Nodes) - 1
	}
	link := func(from, to int) {
		a, b := m.Nodes[from], m.Nodes[to]
		x := a.X + 10
		m.Edges = append(m.Edges, fmt.Sprintf("M%d %d V%d H%d", x, a.Y+a.H, b.Y+b.H/2, b.X))
	}
	title := t.Title
	if title == "" {
		title = "Choose a trigger"
	}
	root := add(views.MapNode{Label: "⚡ " + title, Href: "#card-trigger", Kind: "trigger"})
	var walk func(l views.StepList, parent, depth int)
	walk = func(l views.StepList, parent, depth int) {
		prev := parent
		for _, s := range l.Steps {
			label := s.Name
			if label == "" {
				label = s.Title
			}
			i := add(views.MapNode{X: depth * mapIndent, Label: s.Number + " · " + label, Href: "#card-" + views.Anchor(s.Path),
				Kind: s.Group, Status: s.LastStatus, Title: s.ID})
			if prev == parent && depth > 0 {
				link(parent, i)
			} else {
				m.Edges = append(m.Edges, fmt.Sprintf("M%d %d V%d", m.Nodes[prev].X+10, m.Nodes[prev].Y+mapBox, m.Nodes[i].Y))
			}
			prev = i
			for _, c := range s.Cases {
				name := c.Name.Value
				if name == "" {
					name = fmt.Sprintf("case %d", c.Index+1)
				}
				ci := add(views.MapNode{X: (depth + 1) * mapIndent, Label: "if " + name, Href: "#card-" + views.Anchor(c.Path), Kind: "case"})
				link(i, ci)
				walk(c.Steps, ci, depth+2)
			}
			if s.Default != nil && len(s.Default.Steps) > 0 {
				ci := add(views.MapNode{X: (depth + 1) * mapIndent, Label: "otherwise", Href: "#card-" + views.Anchor(s.Path), Kind: "case"})
				link(i, ci)
				walk(*s.Default, ci, depth+2)
			}
			if s.Body != nil {
				walk(*s.Body, i, depth+1)
			}
		}
	}
	walk(steps, root, 0)
	m.Height = len(m.Nodes)*mapRow + 4
	return m
}
