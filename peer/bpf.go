package peer

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// portFilter assembles "tcp and (src port P or dst port P ...)" for
// Ethernet frames carrying IPv4 or IPv6, as tcpdump would compile it:
// IPv4 fragments after the first are refused, IPv6 extension headers are
// not followed (user space checks again anyway).
func portFilter(ports []uint16) ([]bpf.RawInstruction, error) {
	var p asm
	p.add(bpf.LoadAbsolute{Off: 12, Size: 2}, "", "")
	p.jeq(0x0800, "ip4", "")
	p.jeq(0x86dd, "ip6", "drop")
	p.label("ip4")
	p.add(bpf.LoadAbsolute{Off: 23, Size: 1}, "", "")
	p.jeq(6, "", "drop")
	p.add(bpf.LoadAbsolute{Off: 20, Size: 2}, "", "")
	p.add(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x1fff}, "drop", "")
	p.add(bpf.LoadMemShift{Off: 14}, "", "")
	for _, off := range []uint32{14, 16} {
		p.add(bpf.LoadIndirect{Off: off, Size: 2}, "", "")
		for _, port := range ports {
			p.jeq(uint32(port), "keep", "")
		}
	}
	p.add(bpf.Jump{}, "drop", "")
	p.label("ip6")
	p.add(bpf.LoadAbsolute{Off: 20, Size: 1}, "", "")
	p.jeq(6, "", "drop")
	for _, off := range []uint32{54, 56} {
		p.add(bpf.LoadAbsolute{Off: off, Size: 2}, "", "")
		for _, port := range ports {
			p.jeq(uint32(port), "keep", "")
		}
	}
	p.label("drop")
	p.add(bpf.RetConstant{Val: 0}, "", "")
	p.label("keep")
	p.add(bpf.RetConstant{Val: 262144}, "", "")
	return p.assemble()
}

// asm is a tiny assembler with labels for classic BPF's relative jumps.
type asm struct {
	ins    []bpf.Instruction
	to     [][2]string // jump targets: true/false (Jump: [0])
	labels map[string]int
}

func (a *asm) add(i bpf.Instruction, t, f string) {
	a.ins = append(a.ins, i)
	a.to = append(a.to, [2]string{t, f})
}

func (a *asm) jeq(v uint32, t, f string) { a.add(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v}, t, f) }

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.ins)
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(from int, l string) (uint8, error) {
		if l == "" {
			return 0, nil
		}
		at, ok := a.labels[l]
		d := at - from - 1
		if !ok || d < 0 || d > 255 {
			return 0, fmt.Errorf("peer: bpf jump to %q out of range", l)
		}
		return uint8(d), nil
	}
	for i, in := range a.ins {
		t, err := skip(i, a.to[i][0])
		if err != nil {
			return nil, err
		}
		f, err := skip(i, a.to[i][1])
		if err != nil {
			return nil, err
		}
		switch j := in.(type) {
		case bpf.JumpIf:
			j.SkipTrue, j.SkipFalse = t, f
			a.ins[i] = j
		case bpf.Jump:
			j.Skip = uint32(t)
			a.ins[i] = j
		}
	}
	return bpf.Assemble(a.ins)
}
