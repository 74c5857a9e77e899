// A stand-in for Parca's gRPC ingest, for armtune's agent tests: a real gRPC server (grpc-go, as
// Debian packages it) that takes any unary call, decodes it as parca.profilestore.v1alpha1's
// WriteRawRequest with the protobuf library's wire decoder, and writes what it got into DIR:
// N.method (the full method name), N.auth (the call's authorization metadata), N.labels
// (name=value lines of each series) and N-S.pb.gz (each series' raw profile). It prints its port on stdout. With FAIL_FIRST set it answers the
// first call with UNAVAILABLE, as a server that is restarting does. With TLS_CERT and TLS_KEY
// (PEM files) set it serves gRPC over TLS, as a Parca behind a private CA does.
//
// usage: parca_receiver DIR
package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/golang/protobuf/proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// rawCodec hands the handler the request's bytes: the receiver decodes them itself.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) String() string { return "raw" }

// fields splits a message into (field number, bytes) of its length-delimited fields; varints are
// skipped.
func fields(msg []byte) ([][2]interface{}, error) {
	var out [][2]interface{}
	for len(msg) > 0 {
		key, n := proto.DecodeVarint(msg)
		if n == 0 {
			return nil, fmt.Errorf("bad field key")
		}
		msg = msg[n:]
		switch key & 7 {
		case 0:
			_, n := proto.DecodeVarint(msg)
			if n == 0 {
				return nil, fmt.Errorf("bad varint")
			}
			msg = msg[n:]
		case 2:
			size, n := proto.DecodeVarint(msg)
			if n == 0 || uint64(len(msg)-n) < size {
				return nil, fmt.Errorf("bad length")
			}
			out = append(out, [2]interface{}{int(key >> 3), msg[n : n+int(size)]})
			msg = msg[n+int(size):]
		default:
			return nil, fmt.Errorf("unexpected wire type %d", key&7)
		}
	}
	return out, nil
}

// field returns the first length-delimited field numbered num of msg.
func field(msg []byte, num int) []byte {
	fs, err := fields(msg)
	if err != nil {
		return nil
	}
	for _, f := range fs {
		if f[0].(int) == num {
			return f[1].([]byte)
		}
	}
	return nil
}

// labelsOf reads a LabelSet { repeated Label labels = 1 } as name=value lines.
func labelsOf(set []byte) ([]string, error) {
	list, err := fields(set)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range list {
		label := l[1].([]byte)
		out = append(out, string(field(label, 1))+"="+string(field(label, 2)))
	}
	return out, nil
}

// series reads a RawProfileSeries { LabelSet labels = 1; repeated RawSample samples = 2 }: its
// labels, and each RawSample's raw_profile (field 1).
func series(msg []byte) ([]string, [][]byte, error) {
	fs, err := fields(msg)
	if err != nil {
		return nil, nil, err
	}
	var labels []string
	var profiles [][]byte
	for _, f := range fs {
		if f[0].(int) == 1 {
			if labels, err = labelsOf(f[1].([]byte)); err != nil {
				return nil, nil, err
			}
		} else if f[0].(int) == 2 {
			profiles = append(profiles, field(f[1].([]byte), 1))
		}
	}
	return labels, profiles, nil
}

// write keeps call n: its method, authorization, and each series (field 2 of the request).
func write(dir string, n int, method string, auth string, req []byte) error {
	path := func(name string) string { return filepath.Join(dir, fmt.Sprintf("%d%s", n, name)) }
	if err := os.WriteFile(path(".method"), []byte(method), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(path(".auth"), []byte(auth), 0o644); err != nil {
		return err
	}
	top, err := fields(req)
	if err != nil {
		return err
	}
	var labels []string
	s := 0
	for _, f := range top {
		if f[0].(int) != 2 {
			continue
		}
		more, profiles, err := series(f[1].([]byte))
		if err != nil {
			return err
		}
		labels = append(labels, more...)
		for _, p := range profiles {
			s++
			if err := os.WriteFile(path(fmt.Sprintf("-%d.pb.gz", s)), p, 0o644); err != nil {
				return err
			}
		}
	}
	return os.WriteFile(path(".labels"), []byte(strings.Join(labels, "\n")+"\n"), 0o644)
}

func main() {
	dir := os.Args[1]
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(lis.Addr().(*net.TCPAddr).Port)
	var mu sync.Mutex
	calls := 0
	failFirst := os.Getenv("FAIL_FIRST") != ""
	handler := func(srv interface{}, stream grpc.ServerStream) error {
		method, _ := grpc.MethodFromServerStream(stream)
		var req []byte
		if err := stream.RecvMsg(&req); err != nil {
			return err
		}
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if failFirst && n == 1 {
			return status.Error(codes.Unavailable, "starting up")
		}
		auth := ""
		if md, ok := metadata.FromIncomingContext(stream.Context()); ok && len(md.Get("authorization")) > 0 {
			auth = md.Get("authorization")[0]
		}
		if err := write(dir, n, method, auth, req); err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		out := []byte{}
		return stream.SendMsg(&out)
	}
	options := []grpc.ServerOption{grpc.CustomCodec(rawCodec{}), grpc.UnknownServiceHandler(handler)}
	if cert, key := os.Getenv("TLS_CERT"), os.Getenv("TLS_KEY"); cert != "" {
		creds, err := credentials.NewServerTLSFromFile(cert, key)
		if err != nil {
			panic(err)
		}
		options = append(options, grpc.Creds(creds))
	}
	s := grpc.NewServer(options...)
	if err := s.Serve(lis); err != nil {
		panic(err)
	}
}
