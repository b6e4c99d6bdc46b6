package pkg

func Util() int { return 1 }
