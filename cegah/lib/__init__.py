"""Small helpers shared by Cegah's apps."""
