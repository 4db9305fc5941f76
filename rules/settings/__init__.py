"""A user's own settings (``/sales settings``): read, validate, save (preferences), and the
sentences that say what is wrong with them (wording).
"""
