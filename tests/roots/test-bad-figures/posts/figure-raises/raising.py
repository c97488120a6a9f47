import matplotlib.pyplot as plt


def plot():
    fig, ax = plt.subplots()
    raise ValueError("样本数必须为正")
