-- GET the URL given on the command line (list pages, keyset pages through a real cursor).
dofile("common.lua")
