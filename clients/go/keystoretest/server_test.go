package keystoretest

import "testing"

func TestThePortIsSetInTheShippedFilesFormat(t *testing.T) {
	for shipped, want := range map[string]string{
		"": "port = I\"9\"\n",
		"# c\naddress = \"127.0.0.1\"\nport = I\"7443\"\n": "# c\naddress = \"127.0.0.1\"\nport = I\"9\"\n",
		"address = 127.0.0.1\nport = 7443\n":               "address = 127.0.0.1\nport = 9\n",
		"address = \"127.0.0.1\"\n":                        "address = \"127.0.0.1\"\nport = I\"9\"\n",
	} {
		if got := withPort(shipped, 9); got != want {
			t.Errorf("%q: got %q, want %q", shipped, got, want)
		}
	}
}
