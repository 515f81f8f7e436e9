module matrix.local/monitor

go 1.24
