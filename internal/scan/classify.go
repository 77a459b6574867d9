package scan

import (
	"strings"
)

// ClassifyImport says how dangerous it is for a pickle to import (and so
// possibly call) module.name.
//
//   - Innocuous only for an exact (module, name) pair on the allow-list of
//     what real checkpoints need: PyTorch tensor, parameter and storage
//     rebuilds, torch dtypes/devices/sizes, collections.OrderedDict,
//     NumPy array and dtype reconstruction, and a few builtin data
//     constructors. Nothing is normalised: "os " or "collections.OrderedDict "
//     or full-width letters never match.
//   - Dangerous for known code-execution, reflection, process, file and
//     network gadgets (whole modules such as os or subprocess match with
//     every submodule and attribute), and for any dunder component
//     (__globals__, __builtins__, __getattribute__ …).
//   - Suspicious for everything else.
//
// Python 2 names in protocol 0–2 pickles (__builtin__, copy_reg,
// commands …) are classified as what Python 3's unpickler maps them to.
func ClassifyImport(module, name string) Safety {
	s, _ := classifyImport(module, name)
	return s
}

// classifyImport is ClassifyImport with a short reason for messages.
func classifyImport(module, name string) (Safety, string) {
	if module == "" || name == "" {
		return Suspicious, "empty module or name"
	}
	if m, n, ok := py2Name(module, name); ok {
		s, why := classifyImport3(m, n)
		return s, why + " (Python 2 name for " + m + "." + n + ")"
	}
	return classifyImport3(module, name)
}

func classifyImport3(module, name string) (Safety, string) {
	if module != "__main__" && hasDunder(module) || hasDunder(name) {
		return Dangerous, "dunder attribute access"
	}
	if allowedImports[module+"\x00"+name] {
		return Innocuous, "on the allow-list"
	}
	full := module + "." + name
	for p := full; ; {
		if why, ok := deniedImports[p]; ok {
			return Dangerous, why
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	if module == "pandas" && strings.HasPrefix(name, "read_") {
		return Dangerous, "reads files"
	}
	if !plainName(module) || !plainName(name) {
		return Suspicious, "unusual characters in the name; not on the allow-list"
	}
	return Suspicious, "not on the allow-list"
}

// hasDunder reports whether any dotted component of s is a dunder name.
func hasDunder(s string) bool {
	for c := range strings.SplitSeq(s, ".") {
		if len(c) >= 4 && strings.HasPrefix(c, "__") && strings.HasSuffix(c, "__") {
			return true
		}
	}
	return false
}

// plainName reports whether s is made of ASCII letters, digits, '_' and '.'.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// py2Name maps a Python 2 module (and name) to what Python 3's unpickler
// imports for protocol 0–2 pickles (its fix_imports tables).
func py2Name(module, name string) (string, string, bool) {
	if n, ok := py2Names[module+"\x00"+name]; ok {
		m, nm, _ := strings.Cut(n, "\x00")
		return m, nm, true
	}
	if m, ok := py2Modules[module]; ok {
		return m, name, true
	}
	return "", "", false
}

// py2Modules are the Python 2 module renames the unpickler applies.
var py2Modules = map[string]string{
	"__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle",
	"commands": "subprocess", "exceptions": "builtins", "httplib": "http.client",
	"urllib2": "urllib.request", "urlparse": "urllib.parse", "thread": "_thread",
	"dummy_thread": "_dummy_thread", "Queue": "queue", "SocketServer": "socketserver",
	"StringIO": "io", "cStringIO": "io", "UserDict": "collections", "UserList": "collections",
	"UserString": "collections", "repr": "reprlib", "anydbm": "dbm", "whichdb": "dbm",
	"dbhash": "dbm.bsd", "dumbdbm": "dbm.dumb", "gdbm": "dbm.gnu", "xmlrpclib": "xmlrpc.client",
	"SimpleXMLRPCServer": "xmlrpc.server", "DocXMLRPCServer": "xmlrpc.server",
	"BaseHTTPServer": "http.server", "SimpleHTTPServer": "http.server",
	"CGIHTTPServer": "http.server", "Cookie": "http.cookies", "cookielib": "http.cookiejar",
	"htmlentitydefs": "html.entities", "HTMLParser": "html.parser", "robotparser": "urllib.robotparser",
	"ConfigParser": "configparser", "Tkinter": "tkinter", "_winreg": "winreg",
}

// py2Names are the Python 2 (module, name) renames the unpickler applies;
// values are "module\x00name".
var py2Names = map[string]string{
	"__builtin__\x00xrange":            "builtins\x00range",
	"__builtin__\x00reduce":            "functools\x00reduce",
	"__builtin__\x00intern":            "sys\x00intern",
	"__builtin__\x00unichr":            "builtins\x00chr",
	"__builtin__\x00unicode":           "builtins\x00str",
	"__builtin__\x00long":              "builtins\x00int",
	"__builtin__\x00basestring":        "builtins\x00str",
	"itertools\x00izip":                "builtins\x00zip",
	"itertools\x00imap":                "builtins\x00map",
	"itertools\x00ifilter":             "builtins\x00filter",
	"itertools\x00ifilterfalse":        "itertools\x00filterfalse",
	"itertools\x00izip_longest":        "itertools\x00zip_longest",
	"UserDict\x00IterableUserDict":     "collections\x00UserDict",
	"whichdb\x00whichdb":               "dbm\x00whichdb",
	"_socket\x00fromfd":                "socket\x00fromfd",
	"urllib\x00urlopen":                "urllib.request\x00urlopen",
	"urllib\x00urlretrieve":            "urllib.request\x00urlretrieve",
	"multiprocessing.forking\x00Popen": "multiprocessing.popen_fork\x00Popen",
}

// allowedImports are the (module, name) pairs that real checkpoints need
// and that build only data: "module\x00name".
var allowedImports = func() map[string]bool {
	m := map[string]bool{}
	add := func(module string, names ...string) {
		for _, n := range names {
			m[module+"\x00"+n] = true
		}
	}
	// Ordered dicts hold state_dicts; Counter is on PyTorch's
	// weights-only list too.
	add("collections", "OrderedDict", "Counter")
	// Tensor and parameter rebuild helpers. They call only other
	// pickled callables, which are classified on their own.
	add("torch._utils", "_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
		"_rebuild_parameter", "_rebuild_parameter_with_state", "_rebuild_qtensor",
		"_rebuild_sparse_tensor", "_rebuild_meta_tensor_no_storage",
		"_rebuild_wrapper_subclass", "_rebuild_device_tensor_from_numpy",
		"_rebuild_device_tensor_from_cpu_tensor")
	add("torch._tensor", "_rebuild_from_type_v2")
	add("torch.nn.parameter", "Parameter")
	add("torch.serialization", "_get_layout")
	add("torch", "Size", "Tensor", "device",
		"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
		"per_channel_symmetric", "per_channel_affine_float_qparams")
	// dtypes pickle as torch.<name>.
	add("torch", "float32", "float64", "float16", "bfloat16", "complex32", "complex64",
		"complex128", "uint8", "int8", "int16", "int32", "int64", "bool", "qint8", "quint8",
		"qint32", "quint4x2", "quint2x4", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2",
		"float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2", "uint16", "uint32", "uint64",
		"bits1x8", "bits2x4", "bits4x2", "bits8", "bits16")
	for i := 1; i <= 7; i++ {
		add("torch", "int"+string(rune('0'+i)), "uint"+string(rune('0'+i)))
	}
	// Storage and legacy tensor classes (persistent-id storage types).
	storages := []string{"Float", "Double", "Half", "BFloat16", "Byte", "Char", "Short",
		"Int", "Long", "Bool", "ComplexFloat", "ComplexDouble"}
	for _, s := range storages {
		add("torch", s+"Storage", s+"Tensor")
		add("torch.cuda", s+"Storage", s+"Tensor")
	}
	add("torch", "QUInt8Storage", "QInt8Storage", "QInt32Storage", "QUInt4x2Storage",
		"QUInt2x4Storage", "UntypedStorage", "TypedStorage")
	add("torch.storage", "UntypedStorage", "TypedStorage")
	// Protocol 2 pickles of bytes under Python 3.
	add("_codecs", "encode")
	// Builtin data constructors; what they iterate or convert was itself
	// pickled and is classified on its own. (bytearray(n) allocates n
	// bytes; PyTorch's weights-only loader allows it too.)
	add("builtins", "set", "frozenset", "slice", "complex", "bytearray")
	// NumPy arrays, dtypes and scalars (numpy 1 and 2 module paths).
	add("numpy", "ndarray", "dtype")
	add("numpy.core.multiarray", "_reconstruct", "scalar")
	add("numpy._core.multiarray", "_reconstruct", "scalar")
	add("numpy.core.numeric", "_frombuffer")
	add("numpy._core.numeric", "_frombuffer")
	// joblib's array placeholder: the array bytes follow it in the file
	// (object arrays are a nested pickle, which is scanned).
	add("joblib.numpy_pickle", "NumpyArrayWrapper")
	return m
}()

// deniedImports are dotted paths (a module, or module.name) that are
// dangerous with everything under them, with the reason.
var deniedImports = func() map[string]string {
	m := map[string]string{}
	add := func(why string, paths ...string) {
		for _, p := range paths {
			m[p] = why
		}
	}
	add("runs code", "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile",
		"builtins.breakpoint", "builtins.input", "builtins.raw_input", "builtins.help",
		"builtins.apply", "builtins.reload", "runpy", "code", "codeop", "timeit", "pdb", "bdb",
		"pydoc", "trace", "profile", "cProfile", "doctest", "test", "marshal", "imp",
		"importlib", "pkgutil", "zipimport", "site", "ensurepip", "venv", "distutils",
		"setuptools", "pip", "types.CodeType", "types.FunctionType", "types.LambdaType",
		"types.MethodType", "types.ModuleType", "types.new_class", "new", "numpy.f2py",
		"numpy.distutils", "numpy.testing", "torch.utils.cpp_extension", "torch._inductor",
		"torch.jit", "torch.fx", "torch.package", "torch._dynamo", "torch.compile", "torch.hub",
		"torch.ops", "antigravity", "keras.models.load_model", "keras.saving",
		"tensorflow.keras.models.load_model")
	add("reaches arbitrary attributes or calls", "builtins.getattr", "builtins.setattr",
		"builtins.delattr", "builtins.globals", "builtins.locals", "builtins.vars",
		"builtins.type", "operator", "_operator", "functools.partial", "functools.partialmethod",
		"functools.reduce", "_functools", "inspect", "gc", "atexit")
	add("runs processes or reaches the operating system", "os", "posix", "nt", "posixpath",
		"ntpath", "genericpath", "subprocess", "_posixsubprocess", "pty", "popen2", "platform",
		"multiprocessing", "concurrent", "threading", "_thread", "signal", "resource", "ctypes",
		"_ctypes", "cffi", "sys", "torch.multiprocessing")
	add("reads or writes files", "builtins.open", "builtins.file", "io.open", "io.open_code",
		"io.FileIO", "_io.open", "_io.open_code", "_io.FileIO", "codecs.open", "shutil",
		"tempfile", "glob", "fileinput", "pathlib", "tarfile", "zipfile", "shelve", "dbm",
		"sqlite3", "mmap", "fcntl", "linecache", "logging.FileHandler", "logging.basicConfig",
		"logging.handlers", "logging.config", "numpy.load", "numpy.loadtxt", "numpy.genfromtxt",
		"numpy.fromfile", "numpy.memmap", "numpy.save", "numpy.savez", "numpy.savetxt",
		"numpy.lib.npyio", "numpy.lib.format", "numpy.ctypeslib", "pandas.io", "pandas.to_pickle",
		"torch.save", "tensorflow.io")
	add("loads pickles or other serialised code", "pickle", "_pickle", "dill", "cloudpickle",
		"jsonpickle", "yaml", "ruamel", "joblib.load", "joblib.numpy_pickle.load",
		"joblib.numpy_pickle.load_compatibility", "torch.load", "torch.serialization.load",
		"torch.serialization._load", "torch.serialization._legacy_load",
		"torch.storage._load_from_bytes")
	add("opens network connections", "socket", "_socket", "ssl", "_ssl", "select", "selectors",
		"socketserver", "http", "urllib", "urllib3", "requests", "aiohttp", "httpx", "ftplib",
		"smtplib", "telnetlib", "poplib", "imaplib", "nntplib", "xmlrpc", "webbrowser",
		"asyncio", "uuid")
	return m
}()
